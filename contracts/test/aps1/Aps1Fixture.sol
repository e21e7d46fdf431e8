// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "../utils/Vm.sol";
import {TempoStablecoin} from "../../src/aps1/TempoStablecoin.sol";
import {PayPolNexusV2} from "../../src/aps1/PayPolNexusV2.sol";
import {PayPolStreamV1} from "../../src/aps1/PayPolStreamV1.sol";
import {AIProofRegistry} from "../../src/aps1/AIProofRegistry.sol";
import {PayPolReputationRegistry} from "../../src/aps1/PayPolReputationRegistry.sol";
import {Aps1FeeVectors} from "./Aps1FeeVectors.sol";

/// @notice Deploys the APS-1 contracts as the harness places them (initialised from the profile's
///         numbers, which Aps1FeeVectors carries from protocol/profile.json) plus Tempo-shaped tokens.
/// @dev Not a Test itself (the invariant handlers use it too).
abstract contract Aps1Fixture {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev The reference profile (every compat switch off) and the compat profile (all on).
    PayPolNexusV2 internal nexus;
    PayPolNexusV2 internal nexusCompat;
    PayPolStreamV1 internal streams;
    AIProofRegistry internal proofs;
    AIProofRegistry internal proofsCompat;
    PayPolReputationRegistry internal reputation;
    /// @dev 6 decimals (AlphaUSD-like) and 18 decimals (to show the cap follows the token's unit).
    TempoStablecoin internal usd6;
    TempoStablecoin internal usd18;

    function _deployAps1(address owner) internal {
        usd6 = new TempoStablecoin();
        usd6.initialize("AlphaUSD", "AlphaUSD", 6, address(this));
        usd18 = new TempoStablecoin();
        usd18.initialize("Wide USD", "WUSD", 18, address(this));
        nexus = new PayPolNexusV2();
        nexus.initialize(owner, Aps1FeeVectors.PLATFORM_FEE_BPS, Aps1FeeVectors.PENALTY_BPS, Aps1FeeVectors.MAX_PENALTY_TOKENS, false, false, false);
        nexusCompat = new PayPolNexusV2();
        nexusCompat.initialize(owner, Aps1FeeVectors.PLATFORM_FEE_BPS, Aps1FeeVectors.PENALTY_BPS, Aps1FeeVectors.MAX_PENALTY_TOKENS, true, true, true);
        streams = new PayPolStreamV1();
        streams.initialize(owner, Aps1FeeVectors.PLATFORM_FEE_BPS);
        proofs = new AIProofRegistry();
        proofs.initialize(owner, false);
        proofsCompat = new AIProofRegistry();
        proofsCompat.initialize(owner, true);
        reputation = new PayPolReputationRegistry();
        reputation.initialize(owner);
    }

    /// @notice Mints `amount` of `token` to `who` and lets `spender` pull all of it.
    function _fund(TempoStablecoin token, address who, uint256 amount, address spender) internal {
        token.mint(who, amount);
        VM.prank(who);
        token.approve(spender, type(uint256).max);
    }
}
