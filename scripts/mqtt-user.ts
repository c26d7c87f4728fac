/**
 * Adds, updates or removes an account in a Mosquitto-format password file (the bundled broker's
 * BROKER_USERS_FILE, the relay's VIEWER_USERS_FILE, or Mosquitto's own). Lines are written as
 * Mosquitto 2 does ($7$, PBKDF2-SHA512), with the code the broker and relay check them with. The
 * running broker and relay pick the change up by themselves.
 *
 *   node --import tsx scripts/mqtt-user.ts add|update <users-file> <username> [--password-file F]
 *   node --import tsx scripts/mqtt-user.ts remove <users-file> <username>
 *
 * Without --password-file the password is read from stdin (typed without echo on a terminal, or
 * piped). The plain password is never printed, logged or stored.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hashPassword, hasPasswordLine, isValidUsername, replacePasswordLine } from '@camqtt/service-kit';

const USAGE = 'usage: node --import tsx scripts/mqtt-user.ts add|update|remove <users-file> <username> [--password-file F]';

type Command = 'add' | 'update' | 'remove';

interface Arguments {
  command: Command;
  usersFile: string;
  username: string;
  passwordFile: string | undefined;
}

function parseArguments(argv: string[]): Arguments {
  const positional: string[] = [];
  let passwordFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--password-file') passwordFile = argv[++i];
    else if (arg.startsWith('--password-file=')) passwordFile = arg.slice('--password-file='.length);
    else positional.push(arg);
  }
  const [command, usersFile, username] = positional;
  if (positional.length !== 3 || !['add', 'update', 'remove'].includes(command!) || (argv.includes('--password-file') && !passwordFile)) {
    throw new Error(USAGE);
  }
  if (!isValidUsername(username!)) throw new Error('a username must not be empty or contain colons or spaces');
  return { command: command as Command, usersFile: usersFile!, username: username!, passwordFile };
}

/** Reads one line from a terminal without echoing it. */
async function readHiddenLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let typed = '';
  try {
    for await (const chunk of stdin) {
      for (const char of (chunk as Buffer).toString('utf8')) {
        if (char === '\r' || char === '\n') return typed;
        if (char === '\u0003') throw new Error('cancelled');
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    }
    return typed;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

async function readPassword(passwordFile: string | undefined): Promise<string> {
  let password: string;
  if (passwordFile) {
    password = (await readFile(passwordFile, 'utf8')).replace(/\r?\n$/, '');
  } else if (process.stdin.isTTY) {
    password = await readHiddenLine('password: ');
    if ((await readHiddenLine('again: ')) !== password) throw new Error('the passwords differ');
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  if (password === '') throw new Error('the password is empty');
  return password;
}

async function readUsersFile(path: string, command: Command): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && command === 'add') return '';
    throw error;
  }
}

/** Replaces the file in one step, so the broker never reads a half-written one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const text = await readUsersFile(args.usersFile, args.command);
  // Any line of the user, even one the broker refuses: update and remove are how to fix it.
  const exists = hasPasswordLine(text, args.username);
  if (args.command === 'add' && exists) throw new Error(`${args.username} exists already in ${args.usersFile} (use update)`);
  if (args.command !== 'add' && !exists) throw new Error(`${args.username} is not in ${args.usersFile}`);
  const hash = args.command === 'remove' ? null : await hashPassword(await readPassword(args.passwordFile));
  await writeAtomically(args.usersFile, replacePasswordLine(text, args.username, hash));
  const done = { add: 'added', update: 'updated', remove: 'removed' }[args.command];
  process.stdout.write(`${done} ${args.username} in ${args.usersFile}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`mqtt-user: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
