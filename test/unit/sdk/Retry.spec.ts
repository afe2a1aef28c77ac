import { expect } from "chai";
import { RpcUnavailableError, ModulePausedError, isTransientRpcError, transportCode, withRetry } from "../../../sdk";

function transportError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe("retry", function () {
  describe("isTransientRpcError", function () {
    it("test_isTransient_transportFailures_true", function () {
      expect(isTransientRpcError(transportError("ECONNREFUSED"))).to.equal(true);
      expect(isTransientRpcError(Object.assign(new Error("x"), { code: "TIMEOUT" }))).to.equal(true);
      expect(isTransientRpcError(Object.assign(new Error("server"), { code: "SERVER_ERROR" }))).to.equal(true);
      // ethers wraps the socket error several levels down.
      expect(isTransientRpcError({ code: "UNKNOWN_ERROR", error: { cause: transportError("ECONNRESET") } })).to.equal(
        true,
      );
      expect(isTransientRpcError(new Error("429 Too Many Requests"))).to.equal(true);
    });

    it("test_isTransient_revertsAndOwnErrors_false", function () {
      expect(isTransientRpcError(Object.assign(new Error("execution reverted"), { code: "CALL_EXCEPTION" }))).to.equal(
        false,
      );
      expect(isTransientRpcError(new ModulePausedError("paused"))).to.equal(false);
      // Hex in a message must not look like an HTTP status.
      expect(isTransientRpcError(new Error("bad intent 0x4290000000000000000000000000000000000502"))).to.equal(false);
    });
  });

  describe("transportCode", function () {
    it("test_transportCode_findsTheCodeOnTheErrorOrWhatItWraps", function () {
      expect(transportCode(transportError("EHOSTUNREACH"))).to.equal("EHOSTUNREACH");
      expect(
        transportCode({ code: "UNKNOWN_ERROR", info: { error: { cause: transportError("EAI_AGAIN") } } }),
      ).to.equal("EAI_AGAIN");
      expect(transportCode(Object.assign(new Error("execution reverted"), { code: "CALL_EXCEPTION" }))).to.equal(
        undefined,
      );
      // A cycle of wrapped errors ends the walk.
      const loop: { code: string; cause?: unknown } = { code: "UNKNOWN_ERROR" };
      loop.cause = loop;
      expect(transportCode(loop)).to.equal(undefined);
    });
  });

  describe("withRetry", function () {
    it("test_withRetry_transientThenSuccess_returnsAfterBackoff", async function () {
      const delays: number[] = [];
      let calls = 0;
      const value = await withRetry(
        "read",
        async () => {
          calls++;
          if (calls < 3) throw transportError("ECONNREFUSED");
          return 42;
        },
        { retries: 5, minDelayMs: 5, factor: 2, onRetry: (_e, _a, d) => delays.push(d) },
      );
      expect(value).to.equal(42);
      expect(calls).to.equal(3);
      expect(delays).to.deep.equal([5, 10]);
    });

    it("test_withRetry_nonTransient_rethrowsAtOnce", async function () {
      let calls = 0;
      const revert = Object.assign(new Error("reverted"), { code: "CALL_EXCEPTION" });
      const err = await withRetry("send", async () => {
        calls++;
        throw revert;
      }).catch((e: unknown) => e);
      expect(err).to.equal(revert);
      expect(calls).to.equal(1);
    });

    it("test_withRetry_exhausted_throwsRpcUnavailableWithCause", async function () {
      let calls = 0;
      const last = transportError("ECONNREFUSED");
      const err = await withRetry(
        "read the nonce",
        async () => {
          calls++;
          throw last;
        },
        { retries: 2, minDelayMs: 1 },
      ).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RpcUnavailableError);
      expect((err as RpcUnavailableError).code).to.equal("RPC_UNAVAILABLE");
      expect((err as Error).message).to.match(/read the nonce after 3 attempt\(s\).*same idempotency key/);
      expect((err as Error).cause).to.equal(last);
      expect(calls).to.equal(3);
    });
  });
});
