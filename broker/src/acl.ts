/**
 * Access rules in Mosquitto's ACL-file format:
 *
 *   # comment
 *   topic read public/#          <- before any `user` line: applies to anonymous clients
 *   user cam1
 *   topic write camqtt/cam1/frame
 *   pattern read camqtt/%u/control   <- anywhere: applies to every client, %u = username, %c = client id
 *
 * The access word is read, write, readwrite or deny; without one a rule is readwrite. Nothing is
 * allowed unless a rule allows it.
 */
import { filterCovers, filterMatches } from './topic-filter.js';

export type Access = 'read' | 'write' | 'readwrite' | 'deny';

export interface AclRule {
  access: Access;
  filter: string;
}

/** Who is asking: `username` is undefined for an anonymous client. */
export interface AclIdentity {
  username: string | undefined;
  clientId: string;
}

export class AclParseError extends Error {
  override name = 'AclParseError';
}

const ACCESS_WORDS: readonly string[] = ['read', 'write', 'readwrite', 'deny'];

function parseRule(rest: string, lineNumber: number): AclRule {
  const match = /^(\S+)(?:\s+(.*))?$/.exec(rest);
  if (!match) throw new AclParseError(`line ${lineNumber}: a topic filter is missing`);
  const first = match[1]!;
  const remainder = match[2]?.trim();
  // Like Mosquitto, the filter is the rest of the line (it may contain spaces).
  const rule: AclRule =
    ACCESS_WORDS.includes(first) && remainder
      ? { access: first as Access, filter: remainder }
      : { access: 'readwrite', filter: rest.trim() };
  if (ACCESS_WORDS.includes(rule.filter)) throw new AclParseError(`line ${lineNumber}: a topic filter is missing after "${rule.filter}"`);
  return rule;
}

/**
 * A value substituted into a pattern must stay one plain topic level; otherwise a client named
 * `#` would be granted everything (Mosquitto refuses such substitutions the same way).
 */
function isSafeLevel(value: string | undefined): value is string {
  return value !== undefined && value.length > 0 && !/[+#/]/.test(value);
}

function expandPattern(filter: string, identity: AclIdentity): string | undefined {
  if (filter.includes('%u') && !isSafeLevel(identity.username)) return undefined;
  if (filter.includes('%c') && !isSafeLevel(identity.clientId)) return undefined;
  return filter.replaceAll('%u', identity.username ?? '').replaceAll('%c', identity.clientId);
}

const allowsWrite = (rule: AclRule): boolean => rule.access === 'write' || rule.access === 'readwrite';
const allowsRead = (rule: AclRule): boolean => rule.access === 'read' || rule.access === 'readwrite';
const isDeny = (rule: AclRule): boolean => rule.access === 'deny';

export class AccessRules {
  constructor(
    readonly anonymousRules: readonly AclRule[],
    readonly userRules: ReadonlyMap<string, readonly AclRule[]>,
    readonly patternRules: readonly AclRule[],
  ) {}

  /** No rules at all: everything is refused. */
  static readonly none = new AccessRules([], new Map(), []);

  static parse(text: string): AccessRules {
    const anonymous: AclRule[] = [];
    const users = new Map<string, AclRule[]>();
    const patterns: AclRule[] = [];
    let current: AclRule[] = anonymous;
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const match = /^(\S+)\s+(.*)$/.exec(line);
      if (!match) throw new AclParseError(`line ${index + 1}: expected "user", "topic" or "pattern" with an argument`);
      const keyword = match[1]!;
      const rest = match[2]!;
      switch (keyword) {
        case 'user': {
          const name = rest.trim();
          current = users.get(name) ?? [];
          users.set(name, current);
          break;
        }
        case 'topic':
          current.push(parseRule(rest, index + 1));
          break;
        case 'pattern':
          patterns.push(parseRule(rest, index + 1));
          break;
        default:
          throw new AclParseError(`line ${index + 1}: unknown keyword "${keyword}" (expected user, topic or pattern)`);
      }
    });
    return new AccessRules(anonymous, users, patterns);
  }

  /** Usernames that have a `user` block. */
  get usernames(): string[] {
    return [...this.userRules.keys()];
  }

  /** The rules that apply to `identity`, with patterns expanded. */
  rulesFor(identity: AclIdentity): AclRule[] {
    const own = identity.username === undefined ? this.anonymousRules : (this.userRules.get(identity.username) ?? []);
    const expanded: AclRule[] = [];
    for (const rule of this.patternRules) {
      const filter = expandPattern(rule.filter, identity);
      if (filter !== undefined) expanded.push({ access: rule.access, filter });
    }
    return [...own, ...expanded];
  }

  /** A publish needs a write rule matching the topic and no deny rule matching it. */
  canPublish(identity: AclIdentity, topic: string): boolean {
    const rules = this.rulesFor(identity);
    if (rules.some((rule) => isDeny(rule) && filterMatches(rule.filter, topic))) return false;
    return rules.some((rule) => allowsWrite(rule) && filterMatches(rule.filter, topic));
  }

  /**
   * A subscription needs a read rule covering the whole filter and no deny rule covering it.
   * A deny rule covering only part of it (relay: `camqtt/+/frame` with `deny camqtt/cam9/#`)
   * does not refuse the subscription; `canReceive` drops those messages at delivery.
   */
  canSubscribe(identity: AclIdentity, filter: string): boolean {
    const rules = this.rulesFor(identity);
    if (rules.some((rule) => isDeny(rule) && filterCovers(rule.filter, filter))) return false;
    return rules.some((rule) => allowsRead(rule) && filterCovers(rule.filter, filter));
  }

  /**
   * Checked for every message delivered to a subscriber (as Mosquitto does), so deny rules and
   * a reloaded ACL apply to subscriptions made before.
   */
  canReceive(identity: AclIdentity, topic: string): boolean {
    const rules = this.rulesFor(identity);
    if (rules.some((rule) => isDeny(rule) && filterMatches(rule.filter, topic))) return false;
    return rules.some((rule) => allowsRead(rule) && filterMatches(rule.filter, topic));
  }
}

/** One `user` block in ACL-file form, for provisioning. */
export function formatUserBlock(username: string, rules: readonly AclRule[]): string {
  return [`user ${username}`, ...rules.map((rule) => `topic ${rule.access} ${rule.filter}`)].join('\n') + '\n';
}
