/**
 * The soak's arithmetic, without running it: the growth fit, the fault schedule, the Prometheus
 * reader. The two-minute run itself is test/soak/soak-run.test.ts (`npm run test:soak`).
 */
import assert from 'node:assert/strict';
import { test, describe } from 'node:test';
import { faultSchedule } from '../scripts/soak/faults.js';
import { parseSoakOptions } from '../scripts/soak/options.js';
import { prometheusSums } from '../scripts/soak/sampler.js';
import { fitGrowth } from '../scripts/soak/verdicts.js';

describe('soak: its arithmetic', () => {
  test('growth is fitted by least squares: one outlier does not make a flat series grow', () => {
    const flat = [100, 101, 99, 100, 140, 100, 99, 101].map((v, i) => [i * 10, v] as const);
    const fit = fitGrowth(flat);
    assert.ok(fit && Math.abs(fit.growthPercent) < 10, `${fit?.growthPercent}`);
    const leaking = Array.from({ length: 8 }, (_, i) => [i * 10, 100 + i * 3] as const);
    assert.ok((fitGrowth(leaking)?.growthPercent ?? 0) > 20);
    assert.equal(fitGrowth(leaking.slice(0, 3)), undefined, 'too few points to call');
  });

  test('the fault schedule: every fault in a 2-minute run, a broker kill every 5 minutes and one relay restart in 60', () => {
    const short = faultSchedule(parseSoakOptions(['--minutes', '2']));
    assert.deepEqual(
      short.map((f) => f.kind),
      ['broker-kill', 'relay-restart', 'network-drop', 'source-vanish', 'users-reload', 'fps-low', 'fps-back'],
    );
    assert.ok(short[0]!.at >= 20 && short.at(-1)!.at < 110, JSON.stringify(short));
    const long = faultSchedule(parseSoakOptions(['--minutes', '60']));
    const kills = long.filter((f) => f.kind === 'broker-kill').map((f) => f.at);
    assert.equal(kills.length, 9);
    assert.ok(kills.every((at, i) => i === 0 || at - kills[i - 1]! === 300));
    assert.equal(long.filter((f) => f.kind === 'relay-restart').length, 1);
  });

  test('Prometheus text: series summed over their labels, or per value of one label', () => {
    const text = [
      '# HELP camqtt_web_frames_dropped_total x',
      'camqtt_web_frames_dropped_total{camera="a",reason="replaced",transport="ws"} 3',
      'camqtt_web_frames_dropped_total{camera="b",reason="replaced",transport="ws"} 4',
      'camqtt_web_frames_dropped_total{camera="b",reason="stale",transport=""} 1',
      'camqtt_web_viewers{transport="ws"} 5',
    ].join('\n');
    assert.deepEqual(prometheusSums(text, ['camqtt_web_viewers', 'camqtt_web_frames_dropped_total'], 'reason'), {
      'camqtt_web_frames_dropped_total{reason="replaced"}': 7,
      'camqtt_web_frames_dropped_total{reason="stale"}': 1,
      camqtt_web_viewers: 5,
    });
  });
});
