/**
 * Entry point of the `bonneville` command: `bonneville docker-api …` serves the
 * Docker Engine API for a ContainerHost. `bonneville --help` lists the commands.
 */
import { dockerApiUsage, runDockerApi, type CommandIo } from "./docker-api-command";

const usage = `Usage: bonneville <command> [flags]

Commands:
  docker-api   Serve the Docker Engine API for a ContainerHost (bonneville docker-api --help)
`;

/** Runs the command in `args`; resolves with the process's exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  const stdout = (text: string) => void process.stdout.write(text);
  const stderr = (text: string) => void process.stderr.write(text);
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    stdout(command === "help" && rest[0] === "docker-api" ? dockerApiUsage : usage);
    return command === undefined ? 2 : 0;
  }
  if (command !== "docker-api") {
    stderr(`bonneville: unknown command ${JSON.stringify(command)}\n${usage}`);
    return 2;
  }
  const stopRequested = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => resolve(`received ${signal}`);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  const io: CommandIo = { stdout, stderr, env: process.env, stopRequested };
  return runDockerApi(rest, io);
}
