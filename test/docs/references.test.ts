/**
 * Every reference a reader may follow must lead somewhere that exists: code comments (and the
 * example configuration) that cite `docs/<NAME>.md`, `docs/<NAME>.md §<Heading>` or
 * `docs/<NAME>.md#<anchor>`, and the links of docs/*.md, README.md and CHANGELOG.md (relative
 * files, `#anchor`s). A citation of the product specification, a file the repository does not
 * ship, is refused: code cites the project's own documents.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { repoRoot } from "../support/repo-root.js";
import { githubSlug, headingsOf, matchesHeading, markdownLinks, sourceReferences, unfollowable } from "./references.js";

const CODE_DIRS = ["lib", "commands", "test", "scripts", "bench", "bin", "config"];
const CODE_FILE = /\.(ts|mts|mjs|js|cjs|sol|yaml|yml)$/;
const DOCS = [...readdirSync(join(repoRoot, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`), "README.md", "CHANGELOG.md"];

function walk(dir: string): string[] {
  const abs = join(repoRoot, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    const p = join(dir, name);
    if (name === "node_modules" || name === "dist") return [];
    return statSync(join(repoRoot, p)).isDirectory() ? walk(p) : CODE_FILE.test(name) ? [p] : [];
  });
}

const codeFiles = CODE_DIRS.flatMap(walk).sort();
const headingCache = new Map<string, string[]>();
function headings(file: string): string[] {
  let h = headingCache.get(file);
  if (h === undefined) headingCache.set(file, (h = headingsOf(readFileSync(join(repoRoot, file), "utf8"))));
  return h;
}

/** What is wrong with a reference to `file`, its `sections` (§ text) and `anchor`, or undefined. */
function check(file: string, sections: string[], anchor: string | undefined): string | undefined {
  const abs = join(repoRoot, file);
  if (!existsSync(abs)) return `${file} does not exist`;
  if (!file.endsWith(".md")) return anchor === undefined ? undefined : `${file}#${anchor}: anchors are checked in Markdown only`;
  const hs = headings(file);
  for (const s of sections) if (!hs.some((h) => matchesHeading(s, h))) return `${file} has no heading "${s.split(/[,;)]/)[0]}" (headings: ${hs.join(" | ")})`;
  if (anchor !== undefined) {
    const slugs = githubSlugs(hs);
    if (!slugs.includes(anchor.toLowerCase())) return `${file} has no anchor #${anchor} (anchors: ${slugs.join(" ")})`;
  }
  return undefined;
}

/** GitHub's anchors of a document's headings, repeats numbered -1, -2… */
function githubSlugs(hs: string[]): string[] {
  const seen = new Map<string, number>();
  return hs.map((h) => {
    const slug = githubSlug(h);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    return n === 0 ? slug : `${slug}-${n}`;
  });
}

describe("docs: every reference leads to a file and heading that exist", () => {
  test("references: the helpers find references, headings and anchors as a reader would", () => {
    const refs = sourceReferences("/**\n * See docs/ANCHORS.md §Outcomes, §Reasons and docs/STATE.md#layout; also (docs/\n * ANTI_ENTROPY.md) no.\n */\n// docs/FEDERATION_PROTOCOL.md\n//   §Errors: the shape\n");
    assert.deepEqual(refs.map((r) => [r.file, r.sections.map((s) => s.slice(0, 8)), r.anchor]), [
      ["docs/ANCHORS.md", ["Outcomes", "Reasons "], undefined],
      ["docs/STATE.md", [], "layout"],
      ["docs/FEDERATION_PROTOCOL.md", ["Errors: "], undefined],
    ]);
    assert.deepEqual(headingsOf("# T\n\n## 3. Conflicts\n```\n## not a heading\n```\n### Index (`ReconcileIndex`)\n"), ["T", "3. Conflicts", "Index (`ReconcileIndex`)"]);
    assert.ok(matchesHeading("Index: cached sums", "Index (`ReconcileIndex`)"));
    assert.ok(matchesHeading("2.1: odd levels", "2.1 `vmsh-dup-sha256`: the sealer's rule"));
    assert.ok(matchesHeading("3. Conflicts, rule 2", "3. Conflicts"));
    assert.ok(!matchesHeading("Indexes", "Index (`ReconcileIndex`)"), "a heading must end at a word boundary");
    assert.ok(!matchesHeading("Sessions", "Algorithm"));
    assert.equal(githubSlug("The sealer's files"), "the-sealers-files");
    assert.equal(githubSlug("2.1 `vmsh-dup-sha256`: the sealer's rule"), "21-vmsh-dup-sha256-the-sealers-rule");
    assert.deepEqual(markdownLinks("[a](STATE.md#layout) and [b](https://x.org/y.md) [c](#local) `[d](no.md)`"), [{ target: "STATE.md", anchor: "layout" }, { target: "", anchor: "local" }]);
    assert.equal(unfollowable("cf. SPEC \u00a73 and ../" + "shared/SPEC.md").length, 2);
    assert.equal(unfollowable("CONTEXT_SPECIFIC, RFC 9110 \u00a710.2.3").length, 0);
  });

  test("references: no code comment cites the specification or the folder beside the checkout, which the repository does not ship", () => {
    const found = codeFiles.flatMap((f) => unfollowable(readFileSync(join(repoRoot, f), "utf8")).map((u) => `${f}:${u.line}: ${u.text}`));
    assert.deepEqual(found, [], `cite docs/<NAME>.md §<Heading> instead:\n${found.join("\n")}`);
  });

  test("references: every docs/<NAME>.md, §<Heading> and #anchor a code file cites exists", () => {
    assert.ok(codeFiles.length > 100, `only ${codeFiles.length} code files found`);
    const wrong = codeFiles.flatMap((f) =>
      sourceReferences(readFileSync(join(repoRoot, f), "utf8")).flatMap((r) => {
        const problem = check(r.file, r.sections, r.anchor);
        return problem === undefined ? [] : [`${f}:${r.line}: ${problem}`];
      }),
    );
    assert.deepEqual(wrong, []);
  });

  test("references: the documents cite no specification, and their links, §Headings and #anchors resolve", () => {
    const wrong: string[] = [];
    for (const doc of DOCS) {
      const text = readFileSync(join(repoRoot, doc), "utf8");
      for (const u of unfollowable(text)) wrong.push(`${doc}:${u.line}: ${u.text}`);
      for (const r of sourceReferences(text)) {
        const problem = check(r.file, r.sections, r.anchor);
        if (problem !== undefined) wrong.push(`${doc}:${r.line}: ${problem}`);
      }
      for (const link of markdownLinks(text)) {
        const target = link.target === "" ? doc : relative(repoRoot, resolve(dirname(join(repoRoot, doc)), decodeURI(link.target)));
        if (target.startsWith("..")) {
          wrong.push(`${doc}: link ${link.target} leaves the repository`);
          continue;
        }
        const problem = check(target, [], link.anchor);
        if (problem !== undefined) wrong.push(`${doc}: link ${link.target}${link.anchor === undefined ? "" : `#${link.anchor}`}: ${problem}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
