// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryAdmin} from "./interfaces/IAgentTreasuryModule.sol";
import {EscalationQueue} from "./modules/EscalationQueue.sol";

/**
 * @title AgentTreasuryAdmin
 * @notice The cold half of the module: set-up, cancellation, emergency controls, configuration and views. It never
 * runs on its own account: {AgentTreasuryModule} forwards every call it does not handle itself here by
 * delegatecall, so this code runs on the module's storage, as the module's address, with the caller's
 * `msg.sender`.
 *
 * Why two contracts: a payment pays for the function dispatch of the contract it enters, and the module's
 * implementation stays far from the 24,576-byte limit. Both halves inherit the same parts (contracts/modules), so
 * they share one storage layout; neither declares state of its own. Each function here is a thin entry: who may
 * call it (the modifier) and which part does the work.
 *
 * The constructor of {AvatarOwned} marks this implementation initialised, so nobody can own it; called directly it
 * only ever acts on its own empty storage.
 */
contract AgentTreasuryAdmin is EscalationQueue, IAgentTreasuryAdmin {
    // ------------------------------------------------------------- set-up, the exec target and raw reads (AvatarOwned)

    /// @inheritdoc IAgentTreasuryAdmin
    function initialize(address avatar_) external {
        _initialize(avatar_);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function extsload(bytes32[] calldata slots) external view returns (bytes32[] memory values) {
        return _extsload(slots);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function setTarget(address newTarget) external onlyOwner {
        _setTarget(newTarget);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function avatar() external view returns (address) {
        return _currentAvatar();
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function target() external view returns (address) {
        return _currentTarget();
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function paused() external view returns (bool) {
        return _isPaused();
    }

    // ------------------------------------------------------------------ agents (AgentRegistry)

    /// @inheritdoc IAgentTreasuryAdmin
    function setAgent(address agent, AgentConfig calldata config) external onlyOwner {
        _setAgent(agent, config);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function removeAgent(address agent) external onlyOwner {
        _removeAgent(agent);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function rotateAgent(address oldKey, address newKey) external onlyOwner {
        _rotateAgent(oldKey, newKey);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function setAllowedCall(address agent, address target_, bytes4 selector, bool allowed) external onlyOwner {
        _setAllowedCall(agent, target_, selector, allowed);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function setCallConditions(
        address agent,
        address target_,
        bytes4 selector,
        Condition[] calldata conditions
    ) external onlyOwner {
        _setCallConditions(agent, target_, selector, conditions);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function setRecipient(address agent, address recipient, bool allowed) external onlyOwner {
        _setRecipient(agent, recipient, allowed);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function agentConfig(address agent) external view returns (AgentConfig memory config) {
        return _agentConfig(agent);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function isAgent(address agent) external view returns (bool) {
        return _isAgent(agent);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function isFrozen(address agent) external view returns (bool) {
        return _isFrozen(agent);
    }

    // ------------------------------------------------------------------ signatures and nonces (IntentVerifier)

    /// @inheritdoc IAgentTreasuryAdmin
    function hashIntent(Intent calldata intent_) external view returns (bytes32) {
        return _hashIntent(intent_);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function domainSeparator() external view returns (bytes32 separator) {
        return _domainSeparator();
    }

    /**
     * @notice ERC-5267: the EIP-712 domain, so wallets and independent clients need not copy it from the docs.
     * Fields 0x0f: name, version, chainId and verifyingContract; no salt, no extensions.
     */
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", DOMAIN_NAME, DOMAIN_VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function hashCosignerApproval(bytes32 intentId) external view returns (bytes32) {
        return _hashCosignerApproval(intentId);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function getNonce(address agent, uint192 lane) external view returns (uint256) {
        return _getNonce(agent, lane);
    }

    // ------------------------------------------------------------------ the intent ledger (Idempotency)

    /// @inheritdoc IAgentTreasuryAdmin
    function idempotencyRecord(
        address agent,
        bytes32 key
    ) external view returns (bytes32 intentId, bytes32 payloadHash) {
        return _idempotencyRecord(agent, key);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function intentStatus(bytes32 intentId) external view returns (Status) {
        return _intentStatus(intentId);
    }

    // ------------------------------------------------------------------ limits (SpendingLimits)

    /// @inheritdoc IAgentTreasuryAdmin
    function setAssetLimit(address agent, address asset, AssetLimit calldata limit) external onlyOwner {
        _setAssetLimit(agent, asset, limit);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function setTreasuryLimit(address asset, uint128 perWindow, uint32 window) external onlyOwner {
        _setTreasuryLimit(asset, perWindow, window);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function assetLimit(address agent, address asset) external view returns (AssetLimit memory limit) {
        return _assetLimit(agent, asset);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function availableAllowance(address agent, address asset) external view returns (uint256) {
        return _availableAllowance(agent, asset);
    }

    // ------------------------------------------------------------------ USD limits and price feeds (UsdLimits)

    /// @inheritdoc IAgentTreasuryAdmin
    function setPriceFeed(address asset, address feed, uint32 maxAge) external onlyOwner {
        _setPriceFeed(asset, feed, maxAge);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function setUsdLimit(address agent, UsdLimit calldata limit) external onlyOwner {
        _setUsdLimit(agent, limit);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function availableUsdAllowance(address agent) external view returns (uint256) {
        return _availableUsdAllowance(agent);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function usdValue(address asset, uint256 amount) external view returns (uint256 usd, PriceFault fault) {
        return _usdValue(asset, amount);
    }

    // ------------------------------------------------------------------ emergency controls (EmergencyControls)

    /// @inheritdoc IAgentTreasuryAdmin
    function setGuardian(address guardian, bool enabled) external onlyOwner {
        _setGuardian(guardian, enabled);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function pause() external onlyGuardianOrOwner {
        _pause();
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function freezeAgent(address agent) external onlyGuardianOrOwner {
        _freezeAgent(agent);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function unfreezeAgent(address agent) external onlyOwner {
        _unfreezeAgent(agent);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function isGuardian(address account) external view returns (bool) {
        return _isGuardian(account);
    }

    // ------------------------------------------------------------------ co-signers and the queue (EscalationQueue)

    /// @inheritdoc IAgentTreasuryAdmin
    function setCosigners(address[] calldata members, uint256 newThreshold) external onlyOwner {
        _setCosigners(members, newThreshold);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function cancel(bytes32 intentId) external {
        _cancel(intentId);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function cosigners() external view returns (address[] memory) {
        return _cosigners();
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function threshold() external view returns (uint256) {
        return _currentThreshold();
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function cosignerEra() external view returns (uint16) {
        return _currentCosignerEra();
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function hasApproved(bytes32 intentId, address cosigner) external view returns (bool) {
        return _hasApproved(intentId, cosigner);
    }

    /// @inheritdoc IAgentTreasuryAdmin
    function intent(
        bytes32 intentId
    ) external view returns (address agent, uint48 eta, uint256 approvals, Status status) {
        return _intent(intentId);
    }
}
