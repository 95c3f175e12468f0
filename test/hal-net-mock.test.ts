// Runs the shared Net suite against the in-process mock network (temporary runner; the main
// runner test/hal-mock.test.ts calls the same fixture).
import { mockNetFixture } from './support/net-fixtures.ts';
import { describeNetSuite } from './shared/hal/net.ts';

describeNetSuite(mockNetFixture());
