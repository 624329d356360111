/**
 * The shape every CLI command has. A command declares its options and
 * positionals; {@link parseCommand} validates the argv against them, so usage
 * errors are uniform (exit 2, one line) and `--help` is generated.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../util/errors.ts";

/** One `--flag`. */
export interface OptionSpec {
  type: "string" | "boolean" | "number";
  description: string;
  short?: string;
  /** Allowed values for string options. */
  choices?: readonly string[];
  /** Value name shown in help (`--out FILE`). */
  arg?: string;
  default?: string | boolean | number;
  /** May be given several times (values collected into an array). */
  multiple?: boolean;
}

/** One positional argument. */
export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** Takes all remaining positionals. */
  variadic?: boolean;
}

/** Parsed, typed arguments handed to {@link Command.run}. */
export interface ParsedArgs {
  options: Record<string, string | boolean | number | string[] | undefined>;
  positionals: string[];
}

/** A CLI command (`nadir <name> ...`). Subcommands nest (`nadir capture list`). */
export interface Command {
  name: string;
  summary: string;
  /** Extra help text (examples, notes) printed after the option list. */
  details?: string;
  /**
   * Help text computed when `--help` is asked (e.g. the registered detectors), printed after `details`;
   * kept out of `details` so that listing commands does not load what it reads.
   */
  moreHelp?: () => Promise<string> | string;
  options?: Record<string, OptionSpec>;
  positionals?: PositionalSpec[];
  subcommands?: Command[];
  /** Returns the exit code (default 0). */
  run?: (args: ParsedArgs) => Promise<number | void> | number | void;
}

/** Help text for a command. */
export function helpText(cmd: Command, path: string[]): string {
  const lines: string[] = [];
  const pos = (cmd.positionals ?? []).map((p) => {
    const n = p.name + (p.variadic ? "..." : "");
    return p.optional ? `[${n}]` : n;
  });
  const usage = ["deno task nadir", ...path, ...(cmd.subcommands ? ["<command>"] : []), ...pos];
  if (cmd.options && Object.keys(cmd.options).length) usage.push("[options]");
  lines.push(`Usage: ${usage.join(" ")}`, "", cmd.summary);
  if (cmd.subcommands?.length) {
    lines.push("", "Commands:");
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length));
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(w)}  ${c.summary}`);
  }
  if (cmd.positionals?.length) {
    lines.push("", "Arguments:");
    const w = Math.max(...cmd.positionals.map((p) => p.name.length));
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(w)}  ${p.description}`);
  }
  const opts = Object.entries(cmd.options ?? {});
  opts.push(["help", { type: "boolean", short: "h", description: "Show this help" }]);
  lines.push("", "Options:");
  const flag = ([name, o]: [string, OptionSpec]) =>
    `${o.short ? `-${o.short}, ` : "    "}--${name}${
      o.type === "boolean" ? "" : ` ${o.arg ?? (o.choices ? o.choices.join("|") : o.type.toUpperCase())}`
    }`;
  const w = Math.max(...opts.map((o) => flag(o).length));
  for (const o of opts) {
    const d = o[1].default !== undefined ? ` (default: ${o[1].default})` : "";
    lines.push(`  ${flag(o).padEnd(w)}  ${o[1].description}${d}`);
  }
  if (cmd.details) lines.push("", cmd.details.trim());
  return lines.join("\n");
}

/** Validates argv against the command's spec. Throws {@link UsageError}. */
export function parseCommand(cmd: Command, argv: string[], path: string[]): ParsedArgs {
  const specs = cmd.options ?? {};
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(specs)) {
    // node:util parseArgs rejects keys present with value undefined: only set what is given.
    options[name] = { type: o.type === "boolean" ? "boolean" : "string" };
    if (o.short !== undefined) options[name].short = o.short;
    if (o.multiple !== undefined) options[name].multiple = o.multiple;
  }
  options.help = { type: "boolean", short: "h" };
  const where = `nadir ${path.join(" ")}`;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(`${where}: ${msg} (see --help)`);
  }
  const values: ParsedArgs["options"] = {};
  for (const [name, o] of Object.entries(specs)) {
    const raw = (parsed.values as Record<string, unknown>)[name];
    if (raw === undefined) {
      values[name] = o.default as ParsedArgs["options"][string];
      continue;
    }
    const check = (v: string): string | number => {
      if (o.type === "number") {
        const n = Number(v);
        if (v.trim() === "" || !Number.isFinite(n)) {
          throw new UsageError(`${where}: --${name} expects a number, found "${v}"`);
        }
        return n;
      }
      if (o.choices && !o.choices.includes(v)) {
        throw new UsageError(`${where}: --${name} expects one of ${o.choices.join(", ")}, found "${v}"`);
      }
      return v;
    };
    if (o.type === "boolean") values[name] = raw as boolean;
    else if (o.multiple) values[name] = (raw as string[]).map((v) => String(check(v)));
    else values[name] = check(raw as string);
  }
  values.help = parsed.values.help as boolean | undefined;
  const pos = parsed.positionals;
  const specsPos = cmd.positionals ?? [];
  const required = specsPos.filter((p) => !p.optional).length;
  const variadic = specsPos.some((p) => p.variadic);
  if (!values.help) {
    if (pos.length < required) {
      const missing = specsPos.filter((p) => !p.optional)[pos.length];
      throw new UsageError(`${where}: missing argument ${missing.name} (see --help)`);
    }
    if (!variadic && pos.length > specsPos.length) {
      throw new UsageError(`${where}: unexpected argument "${pos[specsPos.length]}" (see --help)`);
    }
  }
  return { options: values, positionals: pos };
}

/** Finds the command for argv (walking subcommands) and returns it with the rest. */
export function resolveCommand(
  root: Command,
  argv: string[],
): { cmd: Command; path: string[]; rest: string[] } {
  let cmd = root;
  const path: string[] = [];
  let i = 0;
  while (cmd.subcommands && i < argv.length && !argv[i].startsWith("-")) {
    const next = cmd.subcommands.find((c) => c.name === argv[i]);
    if (!next) {
      const names = cmd.subcommands.map((c) => c.name).join(", ");
      throw new UsageError(
        `nadir ${[...path, argv[i]].join(" ")}: unknown command; expected one of ${names}`,
      );
    }
    cmd = next;
    path.push(argv[i]);
    i++;
  }
  return { cmd, path, rest: argv.slice(i) };
}

/** Typed accessors so command bodies stay short. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return v === undefined ? undefined : String(v);
}
export function num(args: ParsedArgs, name: string): number | undefined {
  const v = args.options[name];
  return v === undefined ? undefined : Number(v);
}
/**
 * `--name N` as a count (an integer ≥ 0), `def` when absent; a usage error naming the command and the
 * value otherwise.
 */
export function count(args: ParsedArgs, name: string, command: string, def: number): number {
  const n = num(args, name) ?? def;
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new UsageError(`nadir ${command}: --${name} expects an integer ≥ 0, found ${args.options[name]}`);
  }
  return n;
}

/** `--batch-rows N` of the commands that read a big CSV in chunks (src/data/stream.ts). */
export function batchRowsOption(what = "Read a CSV N rows at a time, memory bounded"): OptionSpec {
  return {
    type: "number",
    arg: "N",
    description: `${what} (default: 100,000 for CSVs over 64 MiB; 0 = whole file)`,
  };
}

export function bool(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true;
}
