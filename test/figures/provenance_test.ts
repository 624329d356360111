/**
 * gitSha()/gitDirty() in a throw-away git repository: `<sha>+dirty` when a
 * tracked file is modified, or when a given path (the notebook) is modified
 * or untracked; other untracked files do not count.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gitDirty, gitSha } from "../../src/figures/provenance.ts";
import { git, needPrograms, testWhen } from "../_shared.ts";
import { scratchDir } from "../_scratch.ts";

testWhen([needPrograms("git")], {
  name:
    "provenance: gitSha reads <sha>+dirty for modified tracked files and a modified or untracked notebook",
  fn() {
    const dir = scratchDir("nadir-git-");
    try {
      git(dir, "init", "-q");
      Deno.mkdirSync(join(dir, "notebooks"));
      Deno.mkdirSync(join(dir, "reports"));
      Deno.writeTextFileSync(join(dir, "src.ts"), "export const a = 1;\n");
      Deno.writeTextFileSync(join(dir, "notebooks", "01-a.ipynb"), "{}\n");
      Deno.writeTextFileSync(join(dir, "reports", "01-a.html"), "<p>old</p>\n");
      git(dir, "add", "src.ts", "notebooks/01-a.ipynb", "reports/01-a.html");
      git(dir, "commit", "-q", "-m", "first");
      const head = git(dir, "rev-parse", "--short=10", "HEAD");
      const nb = join(dir, "notebooks", "01-a.ipynb");

      assert.equal(gitSha(dir), head, "a clean checkout");
      assert.equal(gitDirty(dir, [nb]), false);
      // An untracked file elsewhere (a result folder being written) leaves it clean.
      Deno.writeTextFileSync(join(dir, "scratch.txt"), "x\n");
      assert.equal(gitSha(dir, { paths: [nb] }), head);

      // The notebook modified.
      Deno.writeTextFileSync(nb, '{"cells": []}\n');
      assert.equal(gitSha(dir, { paths: [nb] }), `${head}+dirty`);
      git(dir, "checkout", "--", "notebooks/01-a.ipynb");
      assert.equal(gitSha(dir, { paths: [nb] }), head);

      // A new, untracked notebook: dirty for that notebook, not for the tree.
      const fresh = join(dir, "notebooks", "02-new.ipynb");
      Deno.writeTextFileSync(fresh, "{}\n");
      assert.equal(gitSha(dir, { paths: [fresh] }), `${head}+dirty`);
      assert.equal(gitSha(dir), head);
      Deno.removeSync(fresh);

      // What rendering rewrites (reports/) is not an uncommitted change: a report run stays clean.
      Deno.writeTextFileSync(join(dir, "reports", "01-a.html"), "<p>new</p>\n");
      assert.equal(gitSha(dir), head);

      // Any other tracked file modified.
      Deno.writeTextFileSync(join(dir, "src.ts"), "export const a = 2;\n");
      assert.equal(gitSha(dir), `${head}+dirty`);
      assert.equal(gitSha(dir, { paths: [nb] }), `${head}+dirty`);

      assert.equal(gitDirty(scratchDir("nadir-test-")), undefined, "outside a repository");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
