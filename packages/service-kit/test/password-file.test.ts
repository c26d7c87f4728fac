import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  formatPasswordHash,
  hashPassword,
  hasPasswordLine,
  parsePasswordFile,
  parsePasswordHash,
  replacePasswordLine,
  verifyPassword,
} from '../src/password-file.js';

/*
 * Known lines written by the real tool, Mosquitto 2.0's `mosquitto_passwd`:
 *   mosquitto_passwd -c -b pw cam1 's3cret-Passw0rd'                 -> $7$ (PBKDF2-SHA512, 101 rounds)
 *   mosquitto_passwd -H sha512 -c -b pw relay 'old-style-pass'       -> $6$ (salted SHA-512, Mosquitto 1.x style)
 */
const MOSQUITTO_7 = 'cam1:$7$101$xoNedJRc8UVVO/T3$P/3A0HlXyrBJBdqJW7roT29YwM9N5ixwM2ISBgNIf+qxeYyDEAgr1TjfC9sJkmuXy1pItM4ecmPGszQHKrvNSA==';
const MOSQUITTO_6 = 'relay:$6$IpXWIQITOuWgdhhu$bC76t/eqgWUSwMJKXFcWg/MCu9egndXpgEdMipgz/GBdA28RUwdZzXNRf+r3zfPeKPjEyCYOgr/VFxnvlcFXaw==';

describe('password file', () => {
  it('round-trips a hash it made: right password yes, wrong password no', async () => {
    const hash = await hashPassword('correct horse');
    const line = formatPasswordHash(hash);
    assert.match(line, /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    const parsed = parsePasswordHash(line);
    assert.equal(await verifyPassword('correct horse', parsed), true);
    assert.equal(await verifyPassword('correct horsE', parsed), false);
    assert.equal(await verifyPassword('', parsed), false);
  });

  it('salts every hash differently', async () => {
    const a = formatPasswordHash(await hashPassword('same'));
    const b = formatPasswordHash(await hashPassword('same'));
    assert.notEqual(a, b);
  });

  it('accepts a $7$ line written by mosquitto_passwd', async () => {
    const { entries, problems } = parsePasswordFile(`${MOSQUITTO_7}\n`);
    assert.deepEqual(problems, []);
    const stored = entries.get('cam1');
    assert.ok(stored);
    assert.equal(stored.kind, 'pbkdf2-sha512');
    assert.equal(await verifyPassword('s3cret-Passw0rd', stored), true);
    assert.equal(await verifyPassword('s3cret-passw0rd', stored), false);
    // Formatting gives back exactly what Mosquitto wrote.
    assert.equal(`cam1:${formatPasswordHash(stored)}`, MOSQUITTO_7);
  });

  it('accepts an older $6$ line (SHA-512 of password then salt)', async () => {
    const stored = parsePasswordFile(MOSQUITTO_6).entries.get('relay');
    assert.ok(stored && stored.kind === 'sha512');
    assert.equal(await verifyPassword('old-style-pass', stored), true);
    assert.equal(await verifyPassword('old-style-pas', stored), false);
    // The same digest computed independently of the code under test.
    const expected = createHash('sha512').update('old-style-pass').update(stored.salt).digest();
    assert.deepEqual(stored.hash, expected);
  });

  it('skips comments and blank lines and reports bad lines without dropping good ones', () => {
    const { entries, problems } = parsePasswordFile(`# accounts\n\n${MOSQUITTO_7}\nbroken-line\nbob:plaintext\nann:$7$x$y$z\n`);
    assert.deepEqual([...entries.keys()], ['cam1']);
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /line 4/);
  });

  it('refuses, naming the line, entries whose hash, salt or iteration count is not sane (fails closed)', async () => {
    const [salt, hash] = MOSQUITTO_7.split('$').slice(3);
    const lines = [
      '# users',
      MOSQUITTO_7,
      'eve:$7$101$AAAA$A', // line 3: decodes to an empty hash, which matched every password
      `mallory:$7$101$${salt}$${hash!.slice(0, 20)}`, // line 4: a truncated hash
      `trent:$7$101$AAAA$${hash}`, // line 5: a 3-byte salt
      `oscar:$7$99999999999$${salt}$${hash}`, // line 6: iterations that would hang every login
      `peggy:$7$0x65$${salt}$${hash}`, // line 7: not a decimal count
      'victor:$6$AAAA$A', // line 8: the old format, same checks
      `cam1:$7$101$${salt}$${hash}`, // line 9: a second line for cam1
    ];
    const { entries, problems } = parsePasswordFile(lines.join('\n'));
    assert.deepEqual([...entries.keys()], [], 'cam1 is refused too: two lines for one user are ambiguous');
    assert.equal(problems.length, 7);
    for (const [index, name] of ['eve', 'mallory', 'trent', 'oscar', 'peggy', 'victor', 'cam1'].entries()) {
      assert.match(problems[index]!, new RegExp(`^line ${index + 3} \\(${name}\\): .*user refused$`));
    }
    assert.match(problems[0]!, /salt is 3 bytes/);
    assert.match(problems[1]!, /hash is 15 bytes \(expected 64\)/);
    assert.match(problems[3]!, /iteration count/);
    // And a short hash built by hand never matches, even the empty password.
    const stored = parsePasswordHash(MOSQUITTO_7.slice('cam1:'.length));
    assert.equal(await verifyPassword('', { ...stored, hash: Buffer.alloc(0) }), false);
  });

  it('updating a user replaces every line of theirs, so a refused duplicate or broken line can be fixed', async () => {
    const text = `${MOSQUITTO_7}\nrelay:$6$AAAA$A\ncam1:$7$101$AAAA$A\n`;
    assert.equal(hasPasswordLine(text, 'cam1'), true);
    assert.equal(parsePasswordFile(text).entries.has('cam1'), false);
    const fixed = replacePasswordLine(text, 'cam1', await hashPassword('pw'));
    assert.deepEqual(
      fixed
        .trimEnd()
        .split('\n')
        .map((line) => line.split(':')[0]),
      ['cam1', 'relay'],
    );
    assert.ok(await verifyPassword('pw', parsePasswordFile(fixed).entries.get('cam1')!));
    assert.equal(replacePasswordLine(text, 'cam1', null), 'relay:$6$AAAA$A\n');
  });

  it('adds, replaces and removes one user, keeping the other lines', async () => {
    const hash = await hashPassword('pw');
    let text = `# keep me\n${MOSQUITTO_7}\n`;
    text = replacePasswordLine(text, 'cam2', hash);
    assert.deepEqual(
      text
        .trimEnd()
        .split('\n')
        .map((line) => line.split(':')[0]),
      ['# keep me', 'cam1', 'cam2'],
    );
    const newer = await hashPassword('pw2');
    text = replacePasswordLine(text, 'cam1', newer);
    assert.equal(parsePasswordFile(text).entries.size, 2);
    assert.ok(await verifyPassword('pw2', parsePasswordFile(text).entries.get('cam1')!));
    text = replacePasswordLine(text, 'cam1', null);
    assert.deepEqual([...parsePasswordFile(text).entries.keys()], ['cam2']);
    assert.ok(text.startsWith('# keep me\n'));
  });
});
