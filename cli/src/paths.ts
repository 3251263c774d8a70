import { BUNDLED_MODEL_PATH } from '@kestrel/core';

/** The model a command uses when none is given: $KESTREL_MODEL_PATH, else the bundled detector. */
export function defaultModelPath(): string {
  return process.env.KESTREL_MODEL_PATH || BUNDLED_MODEL_PATH;
}
