// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule, IAgentTreasuryTypes} from "../interfaces/IAgentTreasuryModule.sol";

interface IBalanceOf {
    function balanceOf(address account) external view returns (uint256);
}

/**
 * @dev Reads, in one call, every view the invariant campaign (test/invariants/) compares with its model after each
 * step: balances, per-agent nonces, flags, configuration, allowances and limits, intent records, idempotency
 * bindings, pause and co-signers. One eth_call instead of a hundred keeps the campaign fast. Test only, never
 * deployed. The output is a flat word array; its layout is documented in each helper and mirrored by the reader in
 * test/invariants/harness.ts.
 */
contract InvariantProbe {
    struct Query {
        address[] holders;
        address[] assets;
        address[] agents;
        bytes32[] ids;
        address[] keyAgents;
        bytes32[] keys;
        bool config; // also read agentConfig and assetLimit for every agent
    }

    uint256 private constant _PER_AGENT = 4;
    uint256 private constant _PER_AGENT_CONFIG = 8;
    uint256 private constant _PER_ASSET = 1;
    uint256 private constant _PER_ASSET_CONFIG = 4;
    uint256 private constant _PER_INTENT = 4;

    function read(IAgentTreasuryModule module, Query calldata q) external view returns (uint256[] memory out) {
        address[] memory members = module.cosigners();
        uint256 size = q.holders.length * q.assets.length;
        uint256 perAgent = _PER_AGENT + _PER_ASSET * q.assets.length;
        if (q.config) perAgent += _PER_AGENT_CONFIG + _PER_ASSET_CONFIG * q.assets.length;
        size += q.agents.length * perAgent;
        size += q.ids.length * _PER_INTENT + q.keys.length + 2 + members.length;
        out = new uint256[](size);
        uint256 n = _balances(q, out, 0);
        for (uint256 i; i < q.agents.length; ++i) n = _agent(module, q.agents[i], q.assets, q.config, out, n);
        for (uint256 i; i < q.ids.length; ++i) n = _intent(module, q.ids[i], out, n);
        for (uint256 i; i < q.keys.length; ++i) {
            (bytes32 bound, ) = module.idempotencyRecord(q.keyAgents[i], q.keys[i]);
            out[n++] = uint256(bound);
        }
        out[n++] = module.paused() ? 1 : 0;
        out[n++] = module.threshold();
        for (uint256 i; i < members.length; ++i) out[n++] = uint256(uint160(members[i]));
    }

    /// @dev Balances, holder-major, then asset (address(0) = ETH).
    function _balances(Query calldata q, uint256[] memory out, uint256 n) private view returns (uint256) {
        for (uint256 h; h < q.holders.length; ++h) {
            for (uint256 a; a < q.assets.length; ++a) {
                address asset = q.assets[a];
                out[n++] = asset == address(0) ? q.holders[h].balance : IBalanceOf(asset).balanceOf(q.holders[h]);
            }
        }
        return n;
    }

    /// @dev Lane-0 and lane-1 nonces, isAgent, isFrozen, then per asset the allowance; with `config`, then the 8
    /// config fields and per asset the four limit fields.
    function _agent(
        IAgentTreasuryModule module,
        address agent,
        address[] calldata assets,
        bool config,
        uint256[] memory out,
        uint256 n
    ) private view returns (uint256) {
        out[n++] = module.getNonce(agent, 0);
        out[n++] = module.getNonce(agent, 1);
        out[n++] = module.isAgent(agent) ? 1 : 0;
        out[n++] = module.isFrozen(agent) ? 1 : 0;
        for (uint256 a; a < assets.length; ++a) out[n++] = module.availableAllowance(agent, assets[a]);
        if (!config) return n;
        IAgentTreasuryTypes.AgentConfig memory c = module.agentConfig(agent);
        out[n++] = c.validUntil;
        out[n++] = c.escalationDelay;
        out[n++] = c.gracePeriod;
        out[n++] = c.maxIntentsPerWindow;
        out[n++] = c.rateWindow;
        out[n++] = c.maxStrikes;
        out[n++] = c.strikeWindow;
        out[n++] = uint256(c.recipientMode);
        for (uint256 a; a < assets.length; ++a) {
            IAgentTreasuryTypes.AssetLimit memory limit = module.assetLimit(agent, assets[a]);
            out[n++] = limit.autoPerTx;
            out[n++] = limit.autoPerWindow;
            out[n++] = limit.window;
            out[n++] = limit.escalatedPerTx;
        }
        return n;
    }

    /// @dev Status, valid on-chain approvals, eta, and the agent key of the record.
    function _intent(
        IAgentTreasuryModule module,
        bytes32 id,
        uint256[] memory out,
        uint256 n
    ) private view returns (uint256) {
        (address agent, uint48 eta, uint256 approvals, IAgentTreasuryTypes.Status status) = module.intent(id);
        out[n++] = uint256(status);
        out[n++] = approvals;
        out[n++] = eta;
        out[n++] = uint256(uint160(agent));
        return n;
    }
}
