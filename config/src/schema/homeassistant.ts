import { z } from 'zod';
import { topicLevelProblem, topicPrefixProblem } from '@kestrel/core/mqtt/topics';
import { ALWAYS, text } from './common.js';

/**
 * `homeassistant:`: MQTT discovery, so Home Assistant finds the agent as one device with per
 * camera "<label> detected" binary sensors, per-label counts and a detection switch, without
 * a line of Home Assistant YAML. Off by default: it publishes retained configs into Home
 * Assistant's discovery prefix, which a broker without Home Assistant does not want.
 */
export const homeAssistantSchema = z.strictObject({
  enabled: z.boolean().default(false),
  discoveryPrefix: z
    .string()
    .superRefine((value, refinement) => {
      const problem = topicPrefixProblem(value);
      if (problem) refinement.addIssue({ code: 'custom', message: `not a usable discovery prefix: it ${problem}` });
    })
    .default('homeassistant')
    .describe("Home Assistant's MQTT discovery prefix (its MQTT integration's setting; homeassistant unless changed there)"),
  labels: z
    .array(
      text.superRefine((value, refinement) => {
        const problem = topicLevelProblem(value);
        if (problem) refinement.addIssue({ code: 'custom', message: `cannot have label topics: it ${problem}` });
      }),
    )
    .min(1, 'list at least one label')
    .superRefine((list, refinement) => {
      if (!Array.isArray(list)) return;
      list.forEach((label, index) => {
        if (list.indexOf(label) !== index) refinement.addIssue({ code: 'custom', path: [index], message: `"${label}" is listed twice` });
      });
    }, ALWAYS)
    // What a street camera sees; a camera's filters.classes, when given, is used instead.
    .default(['person', 'bicycle', 'car'])
    .describe('labels that get Home Assistant entities on cameras without filters.classes (a camera with classes gets those)'),
});
