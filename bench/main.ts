/**
 * `deno task bench <name>`: runs bench/<name>.ts, which prints nadir's figures
 * next to a peer measured in the same run, as ratios.
 *
 * @module
 */
const BENCHES = ["flows", "detectors", "monitor"];
const name = Deno.args[0];
if (!name || !BENCHES.includes(name)) {
  console.error(`usage: deno task bench <${BENCHES.join("|")}> [args]`);
  Deno.exit(2);
}
const mod = await import(`./${name}.ts`);
await mod.main(Deno.args.slice(1));
