import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessRules, AclParseError, filterCovers, filterMatches, roleRules, formatUserBlock } from '../src/index.js';

const PREFIXES = { topicPrefix: 'camqtt', discoveryPrefix: 'homeassistant' };

describe('topic filters', () => {
  it('matches topics like MQTT does', () => {
    assert.equal(filterMatches('camqtt/+/frame', 'camqtt/cam1/frame'), true);
    assert.equal(filterMatches('camqtt/+/frame', 'camqtt/cam1/status'), false);
    assert.equal(filterMatches('camqtt/+/frame', 'camqtt/a/b/frame'), false);
    assert.equal(filterMatches('camqtt/#', 'camqtt'), true);
    assert.equal(filterMatches('camqtt/#', 'camqtt/a/b'), true);
    assert.equal(filterMatches('#', 'anything/at/all'), true);
    assert.equal(filterMatches('camqtt/cam1', 'camqtt/cam1/frame'), false);
  });

  it('keeps $SYS out of reach of leading wildcards', () => {
    assert.equal(filterMatches('#', '$SYS/broker/uptime'), false);
    assert.equal(filterMatches('+/broker/uptime', '$SYS/broker/uptime'), false);
    assert.equal(filterMatches('$SYS/#', '$SYS/broker/uptime'), true);
  });

  it('knows when a rule covers a whole subscription', () => {
    assert.equal(filterCovers('camqtt/+/frame', 'camqtt/cam1/frame'), true);
    assert.equal(filterCovers('camqtt/+/frame', 'camqtt/+/frame'), true);
    assert.equal(filterCovers('camqtt/+/frame', 'camqtt/#'), false);
    assert.equal(filterCovers('camqtt/+/frame', 'camqtt/+/+'), false);
    assert.equal(filterCovers('camqtt/cam1/frame', 'camqtt/+/frame'), false);
    assert.equal(filterCovers('camqtt/#', 'camqtt/+/frame'), true);
    assert.equal(filterCovers('camqtt/#', 'camqtt/#'), true);
    assert.equal(filterCovers('camqtt/#', 'camqtt'), true);
    assert.equal(filterCovers('#', '#'), true);
    assert.equal(filterCovers('#', '$SYS/#'), false);
    assert.equal(filterCovers('$SYS/#', '$SYS/broker/+'), true);
  });
});

const ACL = `
# anonymous clients
topic read public/#

user cam1
topic write camqtt/cam1/frame
topic read camqtt/cam1/control

user relay
topic read camqtt/+/frame
topic write camqtt/+/control
topic deny camqtt/secret/#

user viewer
topic camqtt/shared

pattern write devices/%u/up
pattern read clients/%c/inbox
`;

describe('access rules', () => {
  const rules = AccessRules.parse(ACL);
  const cam1 = { username: 'cam1', clientId: 'c-1' };
  const relay = { username: 'relay', clientId: 'relay-1' };
  const anonymous = { username: undefined, clientId: 'anon-1' };

  it('lets a user publish only where a write rule allows', () => {
    assert.equal(rules.canPublish(cam1, 'camqtt/cam1/frame'), true);
    assert.equal(rules.canPublish(cam1, 'camqtt/cam2/frame'), false);
    assert.equal(rules.canPublish(cam1, 'camqtt/cam1/control'), false, 'a read rule does not allow writing');
    assert.equal(rules.canPublish(relay, 'camqtt/cam1/frame'), false);
    assert.equal(rules.canPublish(relay, 'camqtt/cam1/control'), true);
  });

  it('refuses a subscription unless a read rule covers all of it', () => {
    assert.equal(rules.canSubscribe(relay, 'camqtt/+/frame'), true);
    assert.equal(rules.canSubscribe(relay, 'camqtt/cam9/frame'), true);
    assert.equal(rules.canSubscribe(relay, 'camqtt/#'), false);
    assert.equal(rules.canSubscribe(relay, 'camqtt/+/control'), false, 'a write rule does not allow reading');
    assert.equal(rules.canSubscribe(cam1, 'camqtt/cam1/control'), true);
    assert.equal(rules.canSubscribe(cam1, 'camqtt/+/control'), false);
  });

  it('lets deny rules win', () => {
    assert.equal(rules.canPublish(relay, 'camqtt/secret/control'), false);
    assert.equal(rules.canSubscribe(relay, 'camqtt/secret/frame'), false);
    // A deny covering part of a subscription does not refuse it; those messages are not delivered.
    assert.equal(rules.canSubscribe(relay, 'camqtt/+/frame'), true);
    assert.equal(rules.canReceive(relay, 'camqtt/cam1/frame'), true);
    assert.equal(rules.canReceive(relay, 'camqtt/secret/frame'), false);
    assert.equal(rules.canReceive(relay, 'camqtt/cam1/status'), false, 'no read rule for it');
  });

  it('treats a rule without an access word as readwrite', () => {
    const viewer = { username: 'viewer', clientId: 'v' };
    assert.equal(rules.canPublish(viewer, 'camqtt/shared'), true);
    assert.equal(rules.canSubscribe(viewer, 'camqtt/shared'), true);
  });

  it('gives topic lines before any user line to anonymous clients only', () => {
    assert.equal(rules.canSubscribe(anonymous, 'public/news'), true);
    assert.equal(rules.canSubscribe(cam1, 'public/news'), false);
    assert.equal(rules.canPublish(anonymous, 'public/news'), false);
  });

  it('expands %u and %c in patterns for everyone', () => {
    assert.equal(rules.canPublish(cam1, 'devices/cam1/up'), true);
    assert.equal(rules.canPublish(cam1, 'devices/relay/up'), false);
    assert.equal(rules.canSubscribe(relay, 'clients/relay-1/inbox'), true);
    assert.equal(rules.canSubscribe(relay, 'clients/c-1/inbox'), false);
    // No username: a %u pattern gives nothing.
    assert.equal(rules.canPublish(anonymous, 'devices//up'), false);
  });

  it('does not let a wildcard in a client id widen a pattern', () => {
    assert.equal(rules.canSubscribe({ username: 'x', clientId: '#' }, 'clients/#/inbox'), false);
    assert.equal(rules.canSubscribe({ username: 'x', clientId: '+' }, 'clients/+/inbox'), false);
  });

  it('denies everything to an unknown user and with no rules at all', () => {
    assert.equal(rules.canPublish({ username: 'stranger', clientId: 's' }, 'camqtt/cam1/frame'), false);
    assert.equal(AccessRules.none.canSubscribe(relay, 'camqtt/+/frame'), false);
  });

  it('reports a bad line with its number', () => {
    assert.throws(
      () => AccessRules.parse('user a\nallow everything\n'),
      (error: unknown) => error instanceof AclParseError && /line 2/.test(error.message),
    );
    assert.throws(() => AccessRules.parse('topic read\n'), AclParseError);
  });

  it('writes role blocks the parser reads back', () => {
    const text =
      formatUserBlock('cam7', roleRules('camera', 'cam7', PREFIXES)) + formatUserBlock('boss', roleRules('admin', 'boss', PREFIXES));
    const parsed = AccessRules.parse(text);
    assert.equal(parsed.canPublish({ username: 'cam7', clientId: 'x' }, 'camqtt/cam7/status'), true);
    assert.equal(parsed.canSubscribe({ username: 'cam7', clientId: 'x' }, 'camqtt/cam7/control'), true);
    assert.equal(parsed.canSubscribe({ username: 'boss', clientId: 'x' }, '#'), true);
    assert.equal(parsed.canSubscribe({ username: 'boss', clientId: 'x' }, '$SYS/#'), true);
  });

  it('gives Home Assistant the discovery, stills, statuses and motion events to read and its birth topic to write, and nothing else', () => {
    const text =
      formatUserBlock('cam7', roleRules('camera', 'cam7', PREFIXES)) +
      formatUserBlock('homeassistant', roleRules('homeassistant', 'homeassistant', PREFIXES));
    const parsed = AccessRules.parse(text);
    const ha = { username: 'homeassistant', clientId: 'x' };
    const cam = { username: 'cam7', clientId: 'y' };
    for (const filter of ['homeassistant/#', 'camqtt/+/image', 'camqtt/cam7/status', 'camqtt/cam7/event'])
      assert.equal(parsed.canSubscribe(ha, filter), true, filter);
    for (const filter of ['camqtt/+/frame', 'camqtt/cam7/control', '#']) assert.equal(parsed.canSubscribe(ha, filter), false, filter);
    assert.equal(parsed.canPublish(ha, 'homeassistant/status'), true);
    assert.equal(parsed.canPublish(ha, 'camqtt/cam7/control'), false);
    assert.equal(parsed.canPublish(cam, 'homeassistant/camera/camqtt_camqtt/cam7/config'), true, 'a camera announces itself');
    assert.equal(parsed.canPublish(cam, 'homeassistant/camera/camqtt_camqtt/cam8/config'), false, 'but not another camera');
    assert.equal(parsed.canPublish(cam, 'camqtt/cam7/image'), true);
    assert.equal(parsed.canSubscribe(cam, 'homeassistant/status'), true);
  });

  it("gives the recorder every camera's frames, statuses and events to read, events, recording states and motion sensors to write, and nothing else", () => {
    const parsed = AccessRules.parse(formatUserBlock('recorder', roleRules('recorder', 'recorder', PREFIXES)));
    const recorder = { username: 'recorder', clientId: 'x' };
    for (const filter of ['camqtt/+/frame', 'camqtt/cam7/frame', 'camqtt/+/status', 'camqtt/+/event', 'homeassistant/status'])
      assert.equal(parsed.canSubscribe(recorder, filter), true, filter);
    for (const filter of ['camqtt/+/control', 'camqtt/+/image', 'camqtt/#', 'homeassistant/#', '#'])
      assert.equal(parsed.canSubscribe(recorder, filter), false, filter);
    for (const topic of ['camqtt/cam7/event', 'camqtt/cam7/recording', 'homeassistant/binary_sensor/camqtt_camqtt/cam7/config'])
      assert.equal(parsed.canPublish(recorder, topic), true, topic);
    for (const topic of [
      'camqtt/cam7/frame',
      'camqtt/cam7/status',
      'camqtt/cam7/control',
      'homeassistant/camera/camqtt_camqtt/cam7/config',
      'homeassistant/binary_sensor/other_node/cam7/config',
    ])
      assert.equal(parsed.canPublish(recorder, topic), false, topic);
  });
});
