// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Models: who owns each, which Datanets trained it, and its fee per inference.
contract ModelRegistry {
    struct Model {
        address owner;
        uint256 feePerInference;
        bytes32 metadataHash;
        uint256[] datanetIds;
    }

    uint256 public modelCount;
    mapping(uint256 => Model) internal models;

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        string name,
        uint256[] datanetIds,
        bytes32 metadataHash,
        uint256 feePerInference
    );
    event ModelUpdated(
        uint256 indexed modelId, address indexed owner, bytes32 metadataHash, uint256 feePerInference
    );

    function registerModel(
        string calldata name,
        uint256[] calldata datanetIds,
        bytes32 metadataHash,
        uint256 feePerInference
    ) external returns (uint256 id) {
        require(feePerInference > 0, "model: fee");
        id = ++modelCount;
        Model storage m = models[id];
        m.owner = msg.sender;
        m.feePerInference = feePerInference;
        m.metadataHash = metadataHash;
        m.datanetIds = datanetIds;
        emit ModelRegistered(id, msg.sender, name, datanetIds, metadataHash, feePerInference);
    }

    function updateModel(uint256 modelId, bytes32 metadataHash, uint256 feePerInference) external {
        Model storage m = models[modelId];
        require(m.owner == msg.sender, "model: not owner");
        require(feePerInference > 0, "model: fee");
        m.metadataHash = metadataHash;
        m.feePerInference = feePerInference;
        emit ModelUpdated(modelId, msg.sender, metadataHash, feePerInference);
    }

    function modelInfo(uint256 modelId)
        external
        view
        returns (address owner, uint256 feePerInference, uint256[] memory datanetIds)
    {
        Model storage m = models[modelId];
        return (m.owner, m.feePerInference, m.datanetIds);
    }
}
