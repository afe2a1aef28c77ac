/**
 * Runs a Hardhat task in this process and captures what it writes to stdout, with the exit code it sets. Shared by
 * the specs that check the CLI's output without spawning a child process (cli-json, the audit trail).
 */
import hre from "hardhat";

export interface CapturedRun {
  /** Everything the task wrote to stdout. */
  stdout: string;
  /** `process.exitCode` as the task left it (0 when it set none). */
  exitCode: number;
}

export async function runTaskCapturing(task: string, args: Record<string, unknown>): Promise<CapturedRun> {
  const write = process.stdout.write.bind(process.stdout);
  let captured = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    captured += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  const previousExit = process.exitCode;
  process.exitCode = 0;
  try {
    await hre.run(task, args);
  } finally {
    process.stdout.write = write;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = previousExit;
  return { stdout: captured, exitCode };
}
