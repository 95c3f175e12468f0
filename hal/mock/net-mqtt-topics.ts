import { InvalidOptionsError } from '../errors.ts';

/** A topic name to publish to: non-empty, no wildcards (MQTT 3.1.1 §4.7.3). */
export function validateTopicName(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > 65535) throw new InvalidOptionsError('mqtt: topic must be a non-empty string');
  if (topic.includes('+') || topic.includes('#') || topic.includes('\u0000')) throw new InvalidOptionsError(`mqtt: wildcards are not allowed in a topic name: ${topic}`);
}

/** A subscription filter: `+` fills a whole level, `#` only as the whole last level (§4.7.1). */
export function validateTopicFilter(filter: string): void {
  if (typeof filter !== 'string' || filter.length === 0 || filter.length > 65535 || filter.includes('\u0000'))
    throw new InvalidOptionsError('mqtt: topic filter must be a non-empty string');
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) throw new InvalidOptionsError(`mqtt: misplaced # in ${filter}`);
    if (level.includes('+') && level !== '+') throw new InvalidOptionsError(`mqtt: misplaced + in ${filter}`);
  });
}

/** Does `filter` match `topic`? Wildcards at the first level do not match `$`-topics (§4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  const wanted = filter.split('/');
  const actual = topic.split('/');
  if (topic.startsWith('$') && (wanted[0] === '+' || wanted[0] === '#')) return false;
  for (let i = 0; i < wanted.length; i++) {
    const level = wanted[i];
    if (level === '#') return true; // also matches the parent level itself: 'a/#' matches 'a'
    if (i >= actual.length) return false;
    if (level !== '+' && level !== actual[i]) return false;
  }
  return wanted.length === actual.length;
}
