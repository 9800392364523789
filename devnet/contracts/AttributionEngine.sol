// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IERC20 {
    function transfer(address to, uint256 value) external returns (bool);
}

interface IModels {
    function modelInfo(uint256 modelId)
        external
        view
        returns (address owner, uint256 feePerInference, uint256[] memory datanetIds);
}

interface IDatanets {
    function contributorsOf(uint256 datanetId)
        external
        view
        returns (address[] memory contributors, uint256[] memory weights);
}

/// Proof of Attribution: splits each inference fee between the model developer, the data
/// contributors of the Datanets that trained the model (pro rata to their recorded weight),
/// stakers and the protocol. Amounts accrue as claimable balances; `claim` pays them out.
/// Rounding dust goes to the protocol, so the four parts always add up to the fee exactly.
contract AttributionEngine {
    uint256 public constant MAX_CONTRIBUTORS = 16;

    IERC20 public immutable token;
    IModels public immutable models;
    IDatanets public immutable datanets;
    address public immutable stakingPool;
    address public immutable treasury;
    uint16 public immutable developerBps;
    uint16 public immutable contributorsBps;
    uint16 public immutable stakersBps;
    address public market;
    address public immutable admin;

    // Per model, a snapshot of (datanetId, contributor, weight) taken at its first inference.
    struct Share {
        address contributor;
        uint32 datanetId;
        uint64 weight;
    }

    mapping(uint256 => Share[]) internal shares;
    mapping(uint256 => uint256) public totalWeight;
    mapping(address => uint256) public claimable;

    event AttributionRecorded(
        bytes32 indexed requestId,
        uint256 indexed modelId,
        address indexed developer,
        uint256 fee,
        uint256 developerAmount,
        uint256 contributorsAmount,
        uint256 stakersAmount,
        uint256 protocolAmount
    );
    event ContributorsRewarded(
        bytes32 indexed requestId,
        uint256 indexed modelId,
        uint256[] datanetIds,
        address[] contributors,
        uint256[] weights,
        uint256[] amounts
    );
    event RewardsClaimed(address indexed account, uint256 amount);

    constructor(
        address token_,
        address models_,
        address datanets_,
        address stakingPool_,
        address treasury_,
        uint16 developerBps_,
        uint16 contributorsBps_,
        uint16 stakersBps_
    ) {
        require(uint256(developerBps_) + contributorsBps_ + stakersBps_ <= 10_000, "attr: bps");
        token = IERC20(token_);
        models = IModels(models_);
        datanets = IDatanets(datanets_);
        stakingPool = stakingPool_;
        treasury = treasury_;
        developerBps = developerBps_;
        contributorsBps = contributorsBps_;
        stakersBps = stakersBps_;
        admin = msg.sender;
    }

    function setMarket(address market_) external {
        require(msg.sender == admin && market == address(0), "attr: market");
        market = market_;
    }

    function _snapshot(uint256 modelId, uint256[] memory datanetIds) internal {
        Share[] storage s = shares[modelId];
        uint256 sum;
        for (uint256 i = 0; i < datanetIds.length; i++) {
            (address[] memory cs, uint256[] memory ws) = datanets.contributorsOf(datanetIds[i]);
            for (uint256 j = 0; j < cs.length && s.length < MAX_CONTRIBUTORS; j++) {
                s.push(Share(cs[j], uint32(datanetIds[i]), uint64(ws[j])));
                sum += ws[j];
            }
        }
        totalWeight[modelId] = sum;
    }

    struct Payout {
        uint256[] datanetIds;
        address[] contributors;
        uint256[] weights;
        uint256[] amounts;
        uint256 total;
    }

    function attribute(bytes32 requestId, uint256 modelId, uint256 fee) external {
        require(msg.sender == market, "attr: only market");
        (address developer,, uint256[] memory datanetIds) = models.modelInfo(modelId);
        if (totalWeight[modelId] == 0) _snapshot(modelId, datanetIds);

        uint256 developerAmount = (fee * developerBps) / 10_000;
        uint256 stakersAmount = (fee * stakersBps) / 10_000;
        Payout memory p = _payContributors(modelId, (fee * contributorsBps) / 10_000);
        uint256 protocolAmount = fee - developerAmount - stakersAmount - p.total;
        claimable[developer] += developerAmount;
        claimable[stakingPool] += stakersAmount;
        claimable[treasury] += protocolAmount;

        emit AttributionRecorded(
            requestId, modelId, developer, fee, developerAmount, p.total, stakersAmount, protocolAmount
        );
        emit ContributorsRewarded(requestId, modelId, p.datanetIds, p.contributors, p.weights, p.amounts);
    }

    function _payContributors(uint256 modelId, uint256 pool) internal returns (Payout memory p) {
        Share[] storage s = shares[modelId];
        uint256 n = s.length;
        uint256 sumW = totalWeight[modelId];
        p.datanetIds = new uint256[](n);
        p.contributors = new address[](n);
        p.weights = new uint256[](n);
        p.amounts = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            Share memory sh = s[i];
            uint256 amount = sumW == 0 ? 0 : (pool * sh.weight) / sumW;
            p.datanetIds[i] = sh.datanetId;
            p.contributors[i] = sh.contributor;
            p.weights[i] = sh.weight;
            p.amounts[i] = amount;
            p.total += amount;
            claimable[sh.contributor] += amount;
        }
    }

    function claim() external returns (uint256 amount) {
        amount = claimable[msg.sender];
        if (amount == 0) return 0;
        claimable[msg.sender] = 0;
        require(token.transfer(msg.sender, amount), "attr: transfer");
        emit RewardsClaimed(msg.sender, amount);
    }
}
