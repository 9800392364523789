// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IOpen {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
}

interface IMarket {
    function infer(uint256 modelId, uint32 tokensIn, uint32 tokensOut) external returns (bytes32);
}

interface IFees {
    function modelInfo(uint256 modelId)
        external
        view
        returns (address owner, uint256 feePerInference, uint256[] memory datanetIds);
}

/// A dApp that calls the inference market on behalf of its users: the market sees the dApp as
/// the caller; the end user is the transaction's sender. It emits no event of its own, as most
/// real dApps don't, so attribution to users must come from the transaction.
contract DAppRouter {
    IOpen public immutable token;
    IMarket public immutable market;
    IFees public immutable registry;
    string public name;

    constructor(address token_, address market_, address registry_, string memory name_) {
        token = IOpen(token_);
        market = IMarket(market_);
        registry = IFees(registry_);
        name = name_;
        IOpen(token_).approve(market_, type(uint256).max);
    }

    function route(uint256 modelId, uint32 tokensIn, uint32 tokensOut) external returns (bytes32) {
        (, uint256 fee,) = registry.modelInfo(modelId);
        require(token.transferFrom(msg.sender, address(this), fee), "dapp: fee");
        return market.infer(modelId, tokensIn, tokensOut);
    }
}
