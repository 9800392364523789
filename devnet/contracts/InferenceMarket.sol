// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IToken {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

interface IModelRegistry {
    function modelInfo(uint256 modelId)
        external
        view
        returns (address owner, uint256 feePerInference, uint256[] memory datanetIds);
}

interface IAttribution {
    function attribute(bytes32 requestId, uint256 modelId, uint256 fee) external;
}

/// Pay-per-inference market: the caller pays the model's fee in OPEN; every inference is recorded
/// and handed to the attribution engine, which splits the fee.
/// `caller` is msg.sender: an EOA, or a dApp contract acting for the transaction's sender.
contract InferenceMarket {
    IToken public immutable token;
    IModelRegistry public immutable registry;
    IAttribution public immutable attribution;
    uint256 public requestCount;

    event InferenceRequested(
        bytes32 indexed requestId,
        uint256 indexed modelId,
        address indexed caller,
        uint256 fee,
        uint32 tokensIn,
        uint32 tokensOut
    );

    constructor(address token_, address registry_, address attribution_) {
        token = IToken(token_);
        registry = IModelRegistry(registry_);
        attribution = IAttribution(attribution_);
    }

    function infer(uint256 modelId, uint32 tokensIn, uint32 tokensOut) external returns (bytes32) {
        (address owner, uint256 fee,) = registry.modelInfo(modelId);
        require(owner != address(0), "market: no model");
        require(token.transferFrom(msg.sender, address(attribution), fee), "market: fee");
        return _record(modelId, fee, tokensIn, tokensOut);
    }

    /// Several inferences in one transaction (agents and batch clients); one fee transfer in all.
    function inferBatch(uint256[] calldata modelIds, uint32[] calldata tokensIn, uint32[] calldata tokensOut)
        external
    {
        uint256 n = modelIds.length;
        require(tokensIn.length == n && tokensOut.length == n, "market: length");
        uint256[] memory fees = new uint256[](n);
        uint256 total;
        for (uint256 i = 0; i < n; i++) {
            (address owner, uint256 fee,) = registry.modelInfo(modelIds[i]);
            require(owner != address(0), "market: no model");
            fees[i] = fee;
            total += fee;
        }
        require(token.transferFrom(msg.sender, address(attribution), total), "market: fee");
        for (uint256 i = 0; i < n; i++) {
            _record(modelIds[i], fees[i], tokensIn[i], tokensOut[i]);
        }
    }

    function _record(uint256 modelId, uint256 fee, uint32 tokensIn, uint32 tokensOut)
        internal
        returns (bytes32 requestId)
    {
        requestId = keccak256(abi.encode(block.chainid, address(this), ++requestCount));
        emit InferenceRequested(requestId, modelId, msg.sender, fee, tokensIn, tokensOut);
        attribution.attribute(requestId, modelId, fee);
    }
}
