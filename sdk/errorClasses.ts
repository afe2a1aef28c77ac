/**
 * The typed errors of the client library (re-exported by ./errors.ts, which decodes reverts into them). Each class
 * has a stable `code`, and its message says what happened and what to do next, so a caller can
 * `catch (e) { if (e instanceof AgentFrozenError) ... }` or switch on `e.code`.
 */
export interface TreasuryErrorDetails {
  /** The module's custom error name, when the error was decoded from a revert. */
  errorName?: string;
  /** The custom error's arguments by name. */
  args?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class of every error the client throws on purpose. */
export abstract class TreasuryError extends Error {
  abstract readonly code: string;
  readonly errorName?: string;
  readonly args: Readonly<Record<string, unknown>>;

  constructor(message: string, details: TreasuryErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.errorName = details.errorName;
    this.args = details.args ?? {};
  }

  /** A JSON-friendly view (bigints as decimal strings), for logs and the CLI's `--json`. */
  toJSON(): { code: string; name: string; message: string; errorName?: string; args: Record<string, string> } {
    const args: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.args)) args[k] = String(v);
    return { code: this.code, name: this.name, message: this.message, errorName: this.errorName, args };
  }
}

// ---------------------------------------------------------------- rejected submissions

/** The module is paused: nothing can be submitted or executed. */
export class ModulePausedError extends TreasuryError {
  static readonly CODE = "MODULE_PAUSED";
  readonly code = ModulePausedError.CODE;
}

/** The agent is frozen (by a guardian, or automatically by strikes). */
export class AgentFrozenError extends TreasuryError {
  static readonly CODE = "AGENT_FROZEN";
  readonly code = AgentFrozenError.CODE;
}

/** The agent key is unknown, removed, rotated out or expired. */
export class AgentInactiveError extends TreasuryError {
  static readonly CODE = "AGENT_INACTIVE";
  readonly code = AgentInactiveError.CODE;
}

/** The intent's signature (or sender) is not the agent's. */
export class SignatureRejectedError extends TreasuryError {
  static readonly CODE = "SIGNATURE_INVALID";
  readonly code = SignatureRejectedError.CODE;
}

/** The intent's nonce is not the current nonce of its lane. */
export class NonceMismatchError extends TreasuryError {
  static readonly CODE = "NONCE_MISMATCH";
  readonly code = NonceMismatchError.CODE;
}

/** The intent is outside its `[validAfter, validUntil]` window (or has no deadline). */
export class IntentWindowError extends TreasuryError {
  static readonly CODE = "INTENT_OUTSIDE_WINDOW";
  readonly code = IntentWindowError.CODE;
}

/** `propose` got an intent that was not signed with `review = true` (v3: the review request is signed). */
export class IntentNotForReviewError extends TreasuryError {
  static readonly CODE = "INTENT_NOT_FOR_REVIEW";
  readonly code = IntentNotForReviewError.CODE;
}

/** The idempotency key is bound to a different payload. */
export class IdempotencyConflictError extends TreasuryError {
  static readonly CODE = "IDEMPOTENCY_CONFLICT";
  readonly code = IdempotencyConflictError.CODE;
}

// ---------------------------------------------------------------- execution

/** The Safe's inner call failed, or moved more than it was charged. Nothing was charged. */
export class ExecutionFailedError extends TreasuryError {
  static readonly CODE = "EXECUTION_FAILED";
  readonly code = ExecutionFailedError.CODE;
}

// ---------------------------------------------------------------- escalation

/** A queued intent's eta has not come yet. */
export class IntentNotReadyError extends TreasuryError {
  static readonly CODE = "INTENT_NOT_READY";
  readonly code = IntentNotReadyError.CODE;
}

/** The intent is not in the status the action needs (e.g. approving an executed intent). */
export class IntentStateError extends TreasuryError {
  static readonly CODE = "INTENT_WRONG_STATUS";
  readonly code = IntentStateError.CODE;
}

/** A queued intent no longer fits the agent's current policy. */
export class PolicyViolationError extends TreasuryError {
  static readonly CODE = "POLICY_VIOLATION";
  readonly code = PolicyViolationError.CODE;
}

/** Not enough co-signer approvals to execute. */
export class ApprovalsInsufficientError extends TreasuryError {
  static readonly CODE = "APPROVALS_INSUFFICIENT";
  readonly code = ApprovalsInsufficientError.CODE;
}

/** A co-signer approval was refused (unknown signer, bad signature, wrong order, already approved). */
export class CosignerRejectedError extends TreasuryError {
  static readonly CODE = "COSIGNER_REJECTED";
  readonly code = CosignerRejectedError.CODE;
}

/**
 * A co-signer's approval signature was made in an earlier co-signer era (v3): the co-signer members changed since,
 * so the module no longer counts it. The co-signer must sign again. Thrown by `CosignerClient.execute` before
 * anything is sent; `args.stale` lists every stale signature as `{ signer, signedEra, currentEra }`.
 */
export class CosignerSignatureStaleError extends TreasuryError {
  static readonly CODE = "COSIGNER_SIGNATURE_STALE";
  readonly code = CosignerSignatureStaleError.CODE;
}

/** The caller lacks the role for this action (guardian, owner, canceller). */
export class NotAuthorizedError extends TreasuryError {
  static readonly CODE = "NOT_AUTHORIZED";
  readonly code = NotAuthorizedError.CODE;
}

/** The module refused a configuration or lifecycle call. */
export class ModuleConfigError extends TreasuryError {
  static readonly CODE = "MODULE_CONFIG";
  readonly code = ModuleConfigError.CODE;
}

/** A revert the client could not decode. */
export class UnknownRevertError extends TreasuryError {
  static readonly CODE = "REVERTED";
  readonly code = UnknownRevertError.CODE;
}

// ---------------------------------------------------------------- client-side

/** The RPC node could not be reached after retries. */
export class RpcUnavailableError extends TreasuryError {
  static readonly CODE = "RPC_UNAVAILABLE";
  readonly code = RpcUnavailableError.CODE;
  constructor(what: string, attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    super(
      `Could not reach the RPC node to ${what} after ${attempts} attempt(s) (${reason}). ` +
        "Check the RPC URL and the node, then retry with the same idempotency key: anything already signed is in " +
        "the journal and is resumed, never paid twice.",
      { cause, args: { what, attempts } },
    );
  }
}

/** The request is malformed (amount, address, asset, lane ...). Nothing was signed. */
export class InvalidRequestError extends TreasuryError {
  static readonly CODE = "INVALID_REQUEST";
  readonly code = InvalidRequestError.CODE;
}

/** The journal cannot be used (locked by another live process, unreadable, or written by another client). */
export class JournalError extends TreasuryError {
  static readonly CODE = "JOURNAL_ERROR";
  readonly code = JournalError.CODE;
}

/** `waitFor` gave up before the intent reached the awaited status. */
export class WaitTimeoutError extends TreasuryError {
  static readonly CODE = "WAIT_TIMEOUT";
  readonly code = WaitTimeoutError.CODE;
}
