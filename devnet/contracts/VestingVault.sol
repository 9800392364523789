// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IERC20Like {
    function transfer(address to, uint256 value) external returns (bool);
}

/// Holds one allocation bucket (team, investors, community, ecosystem, ...) and releases it to
/// the bucket's beneficiary: `tgeAmount` at start, then the rest in equal monthly tranches,
/// the first tranche `cliffMonths` months after start, over `vestingMonths` months.
contract VestingVault {
    uint256 public constant MONTH = 30 days;

    IERC20Like public immutable token;
    bytes32 public immutable bucket;
    address public immutable beneficiary;
    uint256 public immutable totalAllocation;
    uint256 public immutable tgeAmount;
    uint64 public immutable start;
    uint64 public immutable cliffMonths;
    uint64 public immutable vestingMonths;
    uint256 public released;

    event VestingScheduleCreated(
        bytes32 indexed bucket,
        address indexed beneficiary,
        uint256 totalAllocation,
        uint256 tgeAmount,
        uint64 start,
        uint64 cliffMonths,
        uint64 vestingMonths
    );
    event TokensReleased(
        bytes32 indexed bucket,
        address indexed beneficiary,
        uint256 amount,
        uint256 totalReleased,
        uint64 monthIndex
    );

    constructor(
        address token_,
        bytes32 bucket_,
        address beneficiary_,
        uint256 totalAllocation_,
        uint256 tgeAmount_,
        uint64 start_,
        uint64 cliffMonths_,
        uint64 vestingMonths_
    ) {
        require(tgeAmount_ <= totalAllocation_, "vesting: tge");
        require(vestingMonths_ > 0 || tgeAmount_ == totalAllocation_, "vesting: months");
        token = IERC20Like(token_);
        bucket = bucket_;
        beneficiary = beneficiary_;
        totalAllocation = totalAllocation_;
        tgeAmount = tgeAmount_;
        start = start_;
        cliffMonths = cliffMonths_;
        vestingMonths = vestingMonths_;
        emit VestingScheduleCreated(
            bucket_, beneficiary_, totalAllocation_, tgeAmount_, start_, cliffMonths_, vestingMonths_
        );
    }

    /// Months since start, or 0 before start.
    function monthIndex(uint256 t) public view returns (uint64) {
        if (t < start) return 0;
        return uint64((t - start) / MONTH);
    }

    /// Amount vested at time t (cumulative).
    function vestedAt(uint256 t) public view returns (uint256) {
        if (t < start) return 0;
        if (vestingMonths == 0) return totalAllocation;
        uint64 m = monthIndex(t);
        if (m < cliffMonths) return tgeAmount;
        uint256 tranches = uint256(m - cliffMonths) + 1;
        if (tranches >= vestingMonths) return totalAllocation;
        return tgeAmount + ((totalAllocation - tgeAmount) * tranches) / vestingMonths;
    }

    function releasable() public view returns (uint256) {
        return vestedAt(block.timestamp) - released;
    }

    /// Anyone may trigger a release; tokens always go to the beneficiary.
    function release() external returns (uint256 amount) {
        amount = releasable();
        if (amount == 0) return 0;
        released += amount;
        require(token.transfer(beneficiary, amount), "vesting: transfer");
        emit TokensReleased(bucket, beneficiary, amount, released, monthIndex(block.timestamp));
    }
}
