/** Kill tests of `aisp`: the reference stack passes; each broken variant fails its requirement (see kills.ts). */
import { killSuite } from '../../harness/testing/kill.ts';
import kills from './kills.ts';

killSuite(kills);
