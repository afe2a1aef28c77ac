/** Ignition could not complete (validation, reconciliation with an earlier run, or a failed transaction), or the
 * configuration the owners signed did not apply. The message names what failed and how to resume. */
export class DeploymentFailedError extends Error {
  readonly code = "DEPLOYMENT_FAILED";
  constructor(message: string) {
    super(message);
    this.name = "DeploymentFailedError";
  }
}
