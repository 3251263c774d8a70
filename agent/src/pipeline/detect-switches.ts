/**
 * Which cameras have detection switched off (Home Assistant's switch, `<camera>/detect/set`).
 * Kept by camera name, apart from the camera runtimes, so a camera restarted by a reload keeps
 * its switch; a camera removed by a reload forgets it. Not kept across agent restarts: as in
 * Frigate, a restart comes back to the config, which has every camera detecting.
 */
export class DetectSwitches {
  private readonly off = new Set<string>();

  isOn(camera: string): boolean {
    return !this.off.has(camera);
  }

  /** Returns whether the switch changed. */
  set(camera: string, on: boolean): boolean {
    if (this.isOn(camera) === on) return false;
    if (on) this.off.delete(camera);
    else this.off.add(camera);
    return true;
  }

  forget(camera: string): void {
    this.off.delete(camera);
  }
}
