/**
 * Validation of MQTT connect options shared by every MQTT implementation; each one parses the
 * broker URL its own way (the mock without the URL class, Node with it).
 */
import { InvalidOptionsError } from '../errors.ts';
import type { MqttConnectOptions, MqttWill } from '../types.ts';

export function validateMqttOptions(options: MqttConnectOptions): void {
  if (!options || typeof options !== 'object') throw new InvalidOptionsError('mqtt.connect: options object required');
  if (typeof options.clientId !== 'string' || options.clientId.length === 0 || options.clientId.length > 65535)
    throw new InvalidOptionsError('mqtt.connect: clientId must be a non-empty string');
  if (options.cleanSession !== undefined && typeof options.cleanSession !== 'boolean') throw new InvalidOptionsError('mqtt.connect: cleanSession must be a boolean');
  for (const name of ['username', 'password'] as const)
    if (options[name] !== undefined && typeof options[name] !== 'string') throw new InvalidOptionsError(`mqtt.connect: ${name} must be a string`);
  if (options.keepAliveMs !== undefined && !(Number.isInteger(options.keepAliveMs) && options.keepAliveMs >= 0))
    throw new InvalidOptionsError('mqtt.connect: keepAliveMs must be a non-negative integer (0 disables)');
  if (options.connectTimeoutMs !== undefined && !(Number.isInteger(options.connectTimeoutMs) && options.connectTimeoutMs > 0))
    throw new InvalidOptionsError('mqtt.connect: connectTimeoutMs must be a positive integer');
  if (options.protocolVersion !== undefined && options.protocolVersion !== 4 && options.protocolVersion !== 5) throw new InvalidOptionsError('mqtt.connect: protocolVersion must be 4 (MQTT 3.1.1) or 5');
  if (options.will !== undefined) validateWill(options.will);
  if (options.keepAliveMs !== undefined && options.keepAliveMs > 65535 * 1000) throw new InvalidOptionsError('mqtt.connect: keepAliveMs above 65535 s');
}

function validateWill(will: MqttWill): void {
  if (!will || typeof will !== 'object') throw new InvalidOptionsError('mqtt.connect: will must be an object');
  if (typeof will.topic !== 'string' || will.topic.length === 0 || /[+#\u0000]/.test(will.topic)) throw new InvalidOptionsError('mqtt.connect: will.topic must be a non-empty name without wildcards');
  if (!(will.payload instanceof Uint8Array)) throw new InvalidOptionsError('mqtt.connect: will.payload must be a Uint8Array');
  if (will.qos !== undefined && will.qos !== 0 && will.qos !== 1) throw new InvalidOptionsError('mqtt.connect: will.qos must be 0 or 1');
  if (will.retain !== undefined && typeof will.retain !== 'boolean') throw new InvalidOptionsError('mqtt.connect: will.retain must be a boolean');
}
