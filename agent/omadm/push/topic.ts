/** The MQTT topic carrying package #0 for one device (shared by the agent's listener and the reference server). */
export function notifyTopic(deviceId: string): string {
  // MQTT wildcards and separators in a device id (IMEI:…, urn:…) would change the topic's meaning.
  return `omadm/${deviceId.replace(/[+#/\0]/g, '_')}/notify`;
}
