import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactCredentials } from '../src/redact.js';

test('redactCredentials takes user information and credential parameters out of URLs, and leaves the rest', () => {
  const cases: Array<[string, string]> = [
    // A password holding an @: all of it goes, not just up to the first @.
    ['rtsp://admin:p@ss@cam.local:554/stream1', 'rtsp://***@cam.local:554/stream1'],
    ['mqtts://relay:s3cret@broker:8883', 'mqtts://***@broker:8883'],
    [
      'http://cam/video.cgi?user=admin&password=hunter2&resolution=640x480',
      'http://cam/video.cgi?user=***&password=***&resolution=640x480',
    ],
    ['http://cam/mjpg?PWD=x&Token=y#view', 'http://cam/mjpg?PWD=***&Token=***#view'],
    [
      'cannot open stream rtsp://a:b@c/d: 401, url rtsp://a:b@c/d?auth=z now',
      'cannot open stream rtsp://***@c/d: 401, url rtsp://***@c/d?auth=*** now',
    ],
    // Nothing to take: unchanged, an @ in the path or query included.
    ['rtsp://cam.local/stream?channel=1', 'rtsp://cam.local/stream?channel=1'],
    ['http://cam/path/a@b?to=x@y', 'http://cam/path/a@b?to=x@y'],
    ['/dev/video0', '/dev/video0'],
    ['testsrc', 'testsrc'],
  ];
  for (const [given, expected] of cases) assert.equal(redactCredentials(given), expected, given);
});
