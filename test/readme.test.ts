/**
 * The README is the contract: every command of its Quick start is what CI runs, as typed. Each line
 * is in .ci/run character for character, or is run by the test named here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoRoot } from '@camqtt/test-support';

/** Quick start lines that a test runs (it cannot be a line of a script: they start a stack). */
const RUN_BY_TEST: Record<string, { file: string; shows: RegExp }> = {
  'cp .env.example .env': { file: 'test/compose/compose-project.ts', shows: /readFileSync\(join\(this\.dir, '\.env\.example'\)/ },
  'docker compose up': { file: 'test/compose/compose.test.ts', shows: /compose\(\['up', '-d'\]\)/ },
  'npm start': { file: 'test/start.test.ts', shows: /spawn\('npm', \['start'\]/ },
};

/** A script's commands: lines with their continuation lines, comments dropped, trimmed. */
function commands(script: string): string[] {
  return script
    .split(/(?<!\\)\n/)
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The commands of a README section's sh blocks. */
function sectionCommands(title: string): string[] {
  const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
  const section = new RegExp(`\\n## ${title}\\n([\\s\\S]*?)(?=\\n## |$)`).exec(readme)?.[1];
  assert.ok(section, `README.md has a "## ${title}" section`);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((match) => commands(match[1]!));
}

function quickStartCommands(): string[] {
  return [...sectionCommands('Quick start'), ...sectionCommands('Tests')];
}

test("each command of the README's Quick start is run by CI as typed", () => {
  const ci = new Set(commands(readFileSync(`${repoRoot}.ci/run`, 'utf8')));
  const readme = quickStartCommands();
  assert.ok(
    readme.includes('npm test') && readme.includes('npm run lint') && readme.includes('npm ci && npm run build:opencv'),
    `the commands were read: ${readme.join(' | ')}`,
  );
  for (const command of readme) {
    if (/^[A-Z0-9_]+=\S*$/.test(command)) continue; // a line for .env: compose.test.ts applies the "No camera?" block
    const byTest = RUN_BY_TEST[command];
    if (byTest) {
      assert.match(readFileSync(`${repoRoot}${byTest.file}`, 'utf8'), byTest.shows, `${byTest.file} runs \`${command}\``);
      continue;
    }
    assert.ok(ci.has(command), `.ci/run runs the README's line as typed:\n${command}`);
  }
});
