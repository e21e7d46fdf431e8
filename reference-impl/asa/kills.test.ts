/** Kill tests of `asa`: the reference deployment passes; each broken variant fails its requirement (see kills.ts). */
import { killSuite } from '../../harness/testing/kill.ts';
import kills from './kills.ts';

killSuite(kills);
