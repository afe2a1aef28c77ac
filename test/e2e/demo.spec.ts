/**
 * `npm run demo` runs in CI: as a child process, exit code 0, and the timeline shows each act ending as the policy
 * promises.
 */
import fs from "fs";
import { expect } from "chai";
import { spawn } from "child_process";
import { ROOT } from "../../testkit/localNode";

describe("npm run demo (e2e)", function () {
  this.timeout(240_000);

  it("test_demo_runs_exitsZeroAndTellsTheStory", async function () {
    const started = Date.now();
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const child = spawn(npm, ["run", "--silent", "demo"], {
      cwd: ROOT,
      env: { ...process.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    const seconds = (Date.now() - started) / 1000;

    expect(code, `demo failed:\n${stdout}\n${stderr}`).to.equal(0);
    const expected = [
      /Act 1 · The DAO deploys its policy/,
      // The deployment says what it does and shows its progress, step by step.
      /deploying the Safe 1\.5\.0 contracts, the module/,
      /\] deployed \w+ \(step 1\)/,
      // v3: the local Uniswap v3 the trading agent swaps on, from the npm packages' artifacts.
      /\] deploying SwapRouter02 \(Uniswap, local\)/,
      /\] configuring: \d+ Safe call\(s\)/,
      /pay 1200 USDC to Carol .* -> Executed/,
      /pay 3400 USDC to Dave .* -> Executed/,
      /pay 0\.25 ETH to Carol .* -> Executed/,
      /pay 3400 USDC to Dave again .* -> Executed, replay: nothing new happened/,
      /paid once/,
      // v3: one budget in dollars across USDC and ETH, valued with the local mock feeds.
      /USD budget left after the invoices above: \$9775/,
      /pay 5000 USDC to Dave \(payee\) -> Executed.*USD budget left \$4775/,
      /pay 0\.5 ETH to Carol \(payee\) -> Executed.*USD budget left \$3525/,
      /dry run: pay 4000 USDC to Carol -> Queued because above-usd-window: worth \$4000, \$3525 left across all assets \(the USDC window alone has 10400 left\)/,
      /pay 4000 USDC to Carol -> Queued, eta .*: it waits for the co-signers/,
      // v3: the trading agent swaps on the local Uniswap under the policy's conditions, said in words.
      /bounded allowance of 60000 USDC from the Safe/,
      /call: exactInputSingle\(tokenIn USDC, tokenOut WETH, fee 3000, recipient the Safe, amountIn 5000000000/,
      /met +recipient is the Safe/,
      /charged: 5000 USDC to the agent's limits/,
      /swap 5000 USDC for WETH, recipient the Safe -> Executed/,
      /Safe: -5000 USDC, \+2\.4\d* WETH/,
      /without co-signers: 50000 -> 45000/,
      // v3: amountIn is valued like a payment and charged to the trading agent's USD budget too.
      /its USD budget: \$60000 -> \$55000 \(amountIn valued with the USDC price feed\)/,
      /FAILS +recipient is the Safe \(the call has the attacker/,
      /swap 5000 USDC for WETH, recipient the attacker -> Denied, reason TargetNotAllowed/,
      /pay 40000 USDC to Dave -> Queued, eta/,
      /co-signers review .*: Pay 40000 USDC to 0x/,
      /execute right away -> refused \[INTENT_NOT_READY\]/,
      /co-signer 3 executes .* -> Executed/,
      /\(a\) transfer of everything, .* -> Denied, reason AboveHardCap/,
      /\(b\) approve\(attacker, unlimited\) on USDC -> Denied, reason ApprovalNotAllowed/,
      /burst 1\/10: .* -> Denied, reason RecipientNotAllowed, AGENT FROZEN by strikes/,
      /\(c\) burst: 1 denied, 9 rejected .*\[AGENT_FROZEN\]/,
      /the attacker got nothing/,
      /pauses -> paused=true/,
      /trading agent tries to pay 10 USDC -> refused \[MODULE_PAUSED\]/,
      /Demo complete in/,
    ];
    let from = 0;
    for (const pattern of expected) {
      const match = pattern.exec(stdout.slice(from));
      expect(match, `missing (in order) ${pattern} in:\n${stdout}`).to.not.equal(null);
      from += match!.index + match![0].length;
    }
    // The attacker's balance line is zero after every act.
    for (const m of stdout.matchAll(/Attacker\s+(\S+) USDC/g)) expect(m[1]).to.equal("0");
    // Dave ends with 3400 + 5000 + 40000 USDC: the retry paid once, the escalated invoice once; the Safe also swapped
    // 5000 (1,000,000 - 1200 - 3400 - 5000 - 5000 - 40000).
    expect(stdout).to.match(/Safe \(treasury\)\s+945400 USDC/);
    expect(stdout).to.match(/Dave \(payee\)\s+48400 USDC/);
    // Dependencies' compiler warnings stay off the screen, and the demo cleans up its temporary directory.
    expect(`${stdout}${stderr}`).to.not.contain("Transient storage as defined by EIP-1153");
    const work = /deployment records and journals in (\S+) \(removed at the end/.exec(stdout);
    expect(work, stdout).to.not.equal(null);
    expect(fs.existsSync(work![1]), `${work![1]} was left behind`).to.equal(false);
    process.stdout.write(`      (demo took ${seconds.toFixed(1)} s including Hardhat start-up)\n`);
  });
});
