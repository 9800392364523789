// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Datanets: curated data sets whose contributors are paid when models trained on them run.
contract DatanetRegistry {
    struct Datanet {
        address owner;
        address[] contributors;
        uint256[] weights; // summed weight per contributor
    }

    uint256 public datanetCount;
    uint256 public contributionCount;
    mapping(uint256 => Datanet) internal datanets;
    mapping(uint256 => mapping(address => uint256)) internal slot; // index + 1

    event DatanetCreated(
        uint256 indexed datanetId, address indexed owner, string name, bytes32 metadataHash
    );
    event ContributionRecorded(
        uint256 indexed datanetId,
        address indexed contributor,
        uint256 indexed contributionId,
        bytes32 dataHash,
        uint256 weight
    );

    function createDatanet(string calldata name, bytes32 metadataHash) external returns (uint256 id) {
        id = ++datanetCount;
        datanets[id].owner = msg.sender;
        emit DatanetCreated(id, msg.sender, name, metadataHash);
    }

    /// The Datanet owner curates: it records a contribution on the contributor's behalf.
    function recordContribution(uint256 datanetId, address contributor, bytes32 dataHash, uint256 weight)
        external
        returns (uint256 contributionId)
    {
        Datanet storage d = datanets[datanetId];
        require(d.owner == msg.sender, "datanet: not owner");
        require(weight > 0, "datanet: weight");
        uint256 s = slot[datanetId][contributor];
        if (s == 0) {
            d.contributors.push(contributor);
            d.weights.push(weight);
            slot[datanetId][contributor] = d.contributors.length;
        } else {
            d.weights[s - 1] += weight;
        }
        contributionId = ++contributionCount;
        emit ContributionRecorded(datanetId, contributor, contributionId, dataHash, weight);
    }

    function ownerOf(uint256 datanetId) external view returns (address) {
        return datanets[datanetId].owner;
    }

    function contributorsOf(uint256 datanetId)
        external
        view
        returns (address[] memory contributors, uint256[] memory weights)
    {
        Datanet storage d = datanets[datanetId];
        return (d.contributors, d.weights);
    }
}
