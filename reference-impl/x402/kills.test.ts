/** Kill tests of `x402`: the correct facilitator + resource pass; each broken one fails its requirement (see kills.ts). */
import { killSuite } from '../../harness/testing/kill.ts';
import kills from './kills.ts';

killSuite(kills);
