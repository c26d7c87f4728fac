/**
 * Opening a source and retrying it, in process with a scripted source (no OpenCV, no broker): the
 * retry delays, what the supervisor says while the source fails, delivers and ends.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { pino } from 'pino';
import { RetryBackoff, SOURCE_RETRY, sourceRetryFromEnv } from '../src/retry-backoff.js';
import { SourceSupervisor } from '../src/source-supervisor.js';
import { EndOfSourceError, type FrameSource, type Grab, type SourceInfo } from '../src/sources/frame-source.js';

const silent = pino({ level: 'silent' });
const INFO: SourceInfo = { width: 640, height: 480, fps: 30 };

test('the retry delay doubles from the first to the maximum, and starts again once the source delivers', () => {
  const backoff = new RetryBackoff({ firstMs: 100, maxMs: 500 });
  assert.deepEqual([backoff.take(), backoff.take(), backoff.take(), backoff.take(), backoff.take()], [100, 200, 400, 500, 500]);
  backoff.reset();
  assert.equal(backoff.nextDelayMs, 100);
  assert.equal(new RetryBackoff().take(), 1000, 'production: 1 s first');
});

test('CAMQTT_TEST_SOURCE_RETRY_MS sets the delays; unset or malformed, the production ones stay', () => {
  assert.deepEqual(sourceRetryFromEnv('50,200'), { firstMs: 50, maxMs: 200 });
  for (const value of [undefined, '', '50', 'a,b', '0,100', '200,50']) assert.equal(sourceRetryFromEnv(value), SOURCE_RETRY, String(value));
});

/** Opens as `opens` says, one entry per attempt (an Error fails it); counts closes. */
class ScriptedSource implements FrameSource {
  readonly description = 'rtsp://***@camera/stream';
  readonly live = true;
  readonly maxFps = undefined;
  attempts = 0;
  closes = 0;

  constructor(private readonly opens: Array<Error | SourceInfo>) {}

  open(): Promise<SourceInfo> {
    const outcome = this.opens[Math.min(this.attempts, this.opens.length - 1)]!;
    this.attempts += 1;
    return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
  }

  read(): Promise<Grab> {
    return Promise.reject(new Error('not read in these tests'));
  }

  close(): void {
    this.closes += 1;
  }
}

test('a source that fails to open is retried; its error (credentials removed) is said until it opens; a read failure closes and reopens it', async () => {
  const source = new ScriptedSource([new Error('cannot open rtsp://admin:secret@camera/stream'), INFO]);
  const backoff = new RetryBackoff({ firstMs: 5, maxMs: 40 });
  const supervisor = new SourceSupervisor(source, backoff, silent);
  const failures: string[] = [];
  supervisor.on('failed', (error) => failures.push(error));
  const abort = new AbortController();
  let reads = 0;
  const running = supervisor.run((_signal, delivering) => {
    reads += 1;
    assert.deepEqual(supervisor.info, INFO, 'open while read');
    assert.equal(supervisor.error, undefined, 'the error clears once it opened');
    if (reads === 1) {
      assert.equal(backoff.nextDelayMs, 10, 'the delay grew after the failed open');
      delivering();
      assert.equal(backoff.nextDelayMs, 5, 'and is back to the first once frames came');
      return Promise.reject(new Error('stopped delivering frames'));
    }
    abort.abort();
    return Promise.resolve();
  }, abort.signal);
  const [firstError] = (await once(supervisor, 'failed')) as [string];
  assert.equal(firstError, 'cannot open rtsp://***@camera/stream');
  await running;
  assert.deepEqual(failures, ['cannot open rtsp://***@camera/stream', 'stopped delivering frames']);
  assert.equal(reads, 2, 'reopened after the read failure');
  assert.equal(source.attempts, 3);
  assert.equal(source.closes, 2, 'closed after every read');
  assert.equal(supervisor.info, undefined, 'nothing is open after the stop');
});

test('a source that ended for good (a file played once) is said to have ended and not reopened', async () => {
  const source = new ScriptedSource([INFO]);
  const supervisor = new SourceSupervisor(source, new RetryBackoff({ firstMs: 1, maxMs: 1 }), silent);
  const abort = new AbortController();
  const running = supervisor.run(() => Promise.reject(new EndOfSourceError('end of video file')), abort.signal);
  const [error] = (await once(supervisor, 'failed')) as [string];
  assert.equal(error, 'end of video file');
  assert.equal(supervisor.error, 'end of video file');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(source.attempts, 1, 'not reopened');
  abort.abort();
  await running;
});
