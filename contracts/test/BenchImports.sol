// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Reference contracts compiled only for `npm run bench` (scripts/bench/gas.ts), never deployed:
// OpenZeppelin's TimelockController is the baseline for the escalated (co-signed, timelocked) path.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
