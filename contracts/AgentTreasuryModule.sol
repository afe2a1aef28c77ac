// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IntentRouter} from "./modules/IntentRouter.sol";

/**
 * @title AgentTreasuryModule
 * @notice A Safe module that lets AI agents move a DAO's money within hard, on-chain limits.
 *
 * Trust model:
 * - The Safe (avatar) is the owner and is trusted with everything: only it configures, unpauses and unfreezes.
 * - Agents are not trusted. A stolen or prompt-injected agent key can, at worst, move each asset's `autoPerWindow`
 *   within any `window` seconds to recipients its policy accepts, through calls the owner allowed; everything
 *   above needs co-signers and a timelock, and every attempt (executed, queued, denied) is on the record.
 * - Co-signers are trusted in number: fewer than `threshold` of them can move nothing beyond the auto tier.
 * - Guardians are trusted to stop, never to move: pause, freeze, cancel.
 * - Relayers and everyone else are untrusted: they can pay gas for a signed intent, or withhold it until it expires.
 *
 * The module is composed from parts, one concern each, under `modules/`; this contract only assembles them.
 * Instances are EIP-1167 clones made by {AgentTreasuryModuleFactory}.
 */
contract AgentTreasuryModule is IntentRouter {}
