// Runs the shared Net suite against the Node HAL: real sockets on loopback, a real mosquitto
// (temporary runner; the main runner test/hal-node.test.ts calls the same fixture).
import { nodeNetFixture } from './support/net-fixtures.ts';
import { describeNetSuite } from './shared/hal/net.ts';

describeNetSuite(nodeNetFixture());
