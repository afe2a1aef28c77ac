// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Safe 1.5.0 contracts compiled in this project for local chains (tests, demo, local deployments).
// On live networks the deploy pipeline uses the canonical deployments instead.
import {Safe} from "@safe-global/safe-smart-account/contracts/Safe.sol";
import {SafeL2} from "@safe-global/safe-smart-account/contracts/SafeL2.sol";
import {SafeProxyFactory} from "@safe-global/safe-smart-account/contracts/proxies/SafeProxyFactory.sol";
import {CompatibilityFallbackHandler} from "@safe-global/safe-smart-account/contracts/handler/CompatibilityFallbackHandler.sol";
import {MultiSendCallOnly} from "@safe-global/safe-smart-account/contracts/libraries/MultiSendCallOnly.sol";
// The rest of the Safe contracts Safe's SDK (protocol-kit `contractNetworks`) expects on a chain.
import {MultiSend} from "@safe-global/safe-smart-account/contracts/libraries/MultiSend.sol";
import {SignMessageLib} from "@safe-global/safe-smart-account/contracts/libraries/SignMessageLib.sol";
import {CreateCall} from "@safe-global/safe-smart-account/contracts/libraries/CreateCall.sol";
import {SimulateTxAccessor} from "@safe-global/safe-smart-account/contracts/accessors/SimulateTxAccessor.sol";
