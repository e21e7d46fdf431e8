/** Kill tests of `erc8004`: the correct implementation passes; each broken one fails its requirement (see kills.ts). */
import { killSuite } from '../../harness/testing/kill.ts';
import kills from './kills.ts';

killSuite(kills);
