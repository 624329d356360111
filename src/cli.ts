/**
 * `deno task nadir <command>`: the command-line entry point.
 *
 * Exit codes: 0 success, 1 bad input (message names file/line/field), 2 usage error.
 *
 * @module
 */
import { type Command, helpText, parseCommand, resolveCommand } from "./cli/command.ts";
import { COMMANDS } from "./cli/registry.ts";
import { isUserError } from "./util/errors.ts";
import { VERSION } from "./version.ts";

/** Runs the CLI on `argv` and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
      console.log(rootHelp());
      return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === "--version" || argv[0] === "-V") {
      console.log(`nadir ${VERSION}`);
      return 0;
    }
    const lazy = COMMANDS.find((c) => c.name === argv[0]);
    if (!lazy) {
      if (argv[0].startsWith("-")) {
        console.error(`nadir: unknown option "${argv[0]}" (see --help)`);
      } else {
        console.error(
          `nadir: unknown command "${argv[0]}"; expected one of ${COMMANDS.map((c) => c.name).join(", ")}`,
        );
      }
      return 2;
    }
    const top = await lazy.load();
    const { cmd, path, rest } = resolveCommand(top, argv.slice(1));
    const fullPath = [top.name, ...path];
    const args = parseCommand(cmd, rest, fullPath);
    if (args.options.help) {
      console.log(helpText(cmd, fullPath));
      if (cmd.moreHelp) console.log(`\n${(await cmd.moreHelp()).trim()}`);
      return 0;
    }
    if (!cmd.run) {
      console.error(
        `nadir ${fullPath.join(" ")}: expected a subcommand (${
          (cmd.subcommands ?? []).map((c: Command) => c.name).join(", ")
        })`,
      );
      return 2;
    }
    return (await cmd.run(args)) ?? 0;
  } catch (e) {
    if (isUserError(e)) {
      // Most messages already name the command ("nadir flows: …"): not "nadir: nadir flows: …".
      console.error(/^nadir[ :]/.test(e.message) ? e.message : `nadir: ${e.message}`);
      return e.exitCode;
    }
    // A parameter or an input too large for this machine is the user's to fix, not a bug: say so in one line.
    if (
      e instanceof RangeError &&
      /allocation failed|Invalid (typed )?array length|Array buffer/i.test(e.message)
    ) {
      console.error(
        `nadir: out of memory (${e.message}): a parameter or the input is too large for this machine; lower it`,
      );
      return 1;
    }
    throw e;
  }
}

function rootHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `nadir ${VERSION} — network anomaly detection research environment`,
    "",
    "Usage: deno task nadir <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "Run `deno task nadir <command> --help` for a command's options.",
  ].join("\n");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
