// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Stand-ins for OpenLedger's public contracts (../shared/REAL_CHAIN.md): every event has the
// real signature and indexed flags, and the amounts move as the real sources move them (OFT
// lock/unlock and mint/burn with dust removal and the 0x0 -> 0xdEaD redirect, WETH9-style
// WOPEN without mint/burn Transfers, GOPEN with them, Staked with the amount in topic3 and
// Unstaked without one). They have no constructors: a test may copy their code to the real
// addresses (anvil_setCode), where constructor-set storage would not follow.

abstract contract StandinERC20 {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint256 public totalSupply;

    function decimals() external pure returns (uint8) {
        return 18;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 a = allowance[from][msg.sender];
        if (a != type(uint256).max) {
            require(a >= value, "allowance");
            allowance[from][msg.sender] = a - value;
        }
        _transfer(from, to, value);
        return true;
    }

    /// ERC20Burnable: a burn is a Transfer to 0x0 and lowers totalSupply.
    function burn(uint256 value) external {
        _burn(msg.sender, value);
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }

    function _mint(address to, uint256 value) internal {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function _burn(address from, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        totalSupply -= value;
        emit Transfer(from, address(0), value);
    }
}

interface IERC20Like {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// OPEN on Ethereum: the constructor's one mint of 1e27 wei, replayed by genesis().
contract OpenStandin is StandinERC20 {
    bool private minted;

    function genesis(address recipient) external {
        require(!minted, "minted");
        minted = true;
        _mint(recipient, 1_000_000_000 * 10 ** 18);
    }
}

/// What OFTCore, OAppCore and Ownable emit around a send or a receive.
abstract contract OftAdmin {
    struct EnforcedOptionParam {
        uint32 eid;
        uint16 msgType;
        bytes options;
    }

    event OFTSent(
        bytes32 indexed guid,
        uint32 dstEid,
        address indexed fromAddress,
        uint256 amountSentLD,
        uint256 amountReceivedLD
    );
    event OFTReceived(bytes32 indexed guid, uint32 srcEid, address indexed toAddress, uint256 amountReceivedLD);
    event PeerSet(uint32 eid, bytes32 peer);
    event EnforcedOptionSet(EnforcedOptionParam[] _enforcedOptions);
    event MsgInspectorSet(address inspector);
    event PreCrimeSet(address preCrimeAddress);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    address public owner;
    mapping(uint32 => bytes32) public peers;

    function transferOwnership(address newOwner) external {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function setPeer(uint32 eid, bytes32 peer) external {
        peers[eid] = peer;
        emit PeerSet(eid, peer);
    }

    function setEnforcedOptions(EnforcedOptionParam[] calldata opts) external {
        emit EnforcedOptionSet(opts);
    }

    function setMsgInspector(address inspector) external {
        emit MsgInspectorSet(inspector);
    }

    function setPreCrime(address preCrime) external {
        emit PreCrimeSet(preCrime);
    }

    function sharedDecimals() public pure returns (uint8) {
        return 6;
    }

    function decimalConversionRate() public pure returns (uint256) {
        return 10 ** 12;
    }

    /// OFTCore._removeDust: amounts travel in multiples of 10^12 wei.
    function _removeDust(uint256 amountLD) internal pure returns (uint256) {
        return (amountLD / decimalConversionRate()) * decimalConversionRate();
    }

    /// OFT._credit: a credit to 0x0 goes to 0xdEaD.
    function _recipient(address to) internal pure returns (address) {
        return to == address(0) ? address(0xdEaD) : to;
    }
}

/// OPENOFTAdapter on Ethereum: locks OPEN on send, unlocks it on receive.
contract OftAdapterStandin is OftAdmin {
    address public token;

    function setToken(address t) external {
        token = t;
    }

    function send(uint32 dstEid, bytes32 guid, uint256 amountLD) external returns (uint256 amount) {
        amount = _removeDust(amountLD);
        IERC20Like(token).transferFrom(msg.sender, address(this), amount);
        emit OFTSent(guid, dstEid, msg.sender, amount, amount);
    }

    function lzReceiveStandin(bytes32 guid, uint32 srcEid, address to, uint256 amountLD) external {
        address r = _recipient(to);
        IERC20Like(token).transfer(r, amountLD);
        emit OFTReceived(guid, srcEid, r, amountLD);
    }
}

/// OmnichainOpen on BSC: burns on send, mints on receive.
contract OmnichainOpenStandin is StandinERC20, OftAdmin {
    function send(uint32 dstEid, bytes32 guid, uint256 amountLD) external returns (uint256 amount) {
        amount = _removeDust(amountLD);
        _burn(msg.sender, amount);
        emit OFTSent(guid, dstEid, msg.sender, amount, amount);
    }

    function lzReceiveStandin(bytes32 guid, uint32 srcEid, address to, uint256 amountLD) external {
        address r = _recipient(to);
        _mint(r, amountLD);
        emit OFTReceived(guid, srcEid, r, amountLD);
    }
}

/// WOPEN: WETH9 over native OPEN; deposit and withdraw emit no Transfer.
contract WopenStandin {
    event Approval(address indexed src, address indexed guy, uint256 wad);
    event Transfer(address indexed src, address indexed dst, uint256 wad);
    event Deposit(address indexed dst, uint256 wad);
    event Withdrawal(address indexed src, uint256 wad);

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    receive() external payable {
        deposit();
    }

    function deposit() public payable {
        balanceOf[msg.sender] += msg.value;
        emit Deposit(msg.sender, msg.value);
    }

    function withdraw(uint256 wad) external {
        require(balanceOf[msg.sender] >= wad, "balance");
        balanceOf[msg.sender] -= wad;
        (bool ok, ) = payable(msg.sender).call{value: wad}("");
        require(ok, "send");
        emit Withdrawal(msg.sender, wad);
    }

    function totalSupply() external view returns (uint256) {
        return address(this).balance;
    }

    function approve(address guy, uint256 wad) external returns (bool) {
        allowance[msg.sender][guy] = wad;
        emit Approval(msg.sender, guy, wad);
        return true;
    }

    function transfer(address dst, uint256 wad) external returns (bool) {
        require(balanceOf[msg.sender] >= wad, "balance");
        balanceOf[msg.sender] -= wad;
        balanceOf[dst] += wad;
        emit Transfer(msg.sender, dst, wad);
        return true;
    }
}

/// GOPEN: 1:1 governance wrapper of native OPEN (mint/burn Transfers plus Deposit/Withdrawal),
/// with ERC20Votes' delegation events.
contract GopenStandin is StandinERC20 {
    event Deposit(address indexed sender, uint256 amt);
    event Withdrawal(address indexed sender, uint256 amt);
    event DelegateChanged(address indexed delegator, address indexed fromDelegate, address indexed toDelegate);
    event DelegateVotesChanged(address indexed delegate, uint256 previousVotes, uint256 newVotes);
    event EIP712DomainChanged();

    mapping(address => address) public delegates;
    mapping(address => uint256) public getVotes;

    function deposit() external payable {
        _mint(msg.sender, msg.value);
        emit Deposit(msg.sender, msg.value);
    }

    function withdraw(uint256 amt) external {
        _burn(msg.sender, amt);
        (bool ok, ) = payable(msg.sender).call{value: amt}("");
        require(ok, "send");
        emit Withdrawal(msg.sender, amt);
    }

    function delegate(address to) external {
        address old = delegates[msg.sender];
        delegates[msg.sender] = to;
        emit DelegateChanged(msg.sender, old, to);
        uint256 prev = getVotes[to];
        getVotes[to] = prev + balanceOf[msg.sender];
        emit DelegateVotesChanged(to, prev, getVotes[to]);
    }

    function changeDomain() external {
        emit EIP712DomainChanged();
    }
}

/// OpenLedgerGovernor (OZ v5 Governor events).
contract GovernorStandin {
    event ProposalCreated(
        uint256 proposalId,
        address proposer,
        address[] targets,
        uint256[] values,
        string[] signatures,
        bytes[] calldatas,
        uint256 voteStart,
        uint256 voteEnd,
        string description
    );
    event VoteCast(address indexed voter, uint256 proposalId, uint8 support, uint256 weight, string reason);
    event VoteCastWithParams(
        address indexed voter,
        uint256 proposalId,
        uint8 support,
        uint256 weight,
        string reason,
        bytes params
    );
    event ProposalQueued(uint256 proposalId, uint256 etaSeconds);
    event ProposalExecuted(uint256 proposalId);
    event ProposalCanceled(uint256 proposalId);

    function propose(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        string calldata description
    ) external returns (uint256 id) {
        // OZ hashes the proposal to a full uint256; the stand-in keeps the top 128 bits, since
        // the warehouse's uint columns hold at most 2^128 - 1 (a full-width id dead-letters)
        id = uint256(keccak256(abi.encode(targets, values, calldatas, keccak256(bytes(description))))) >> 128;
        uint256 start = block.timestamp + 1 days;
        emit ProposalCreated(
            id, msg.sender, targets, values, new string[](targets.length), calldatas, start, start + 2 weeks, description
        );
    }

    function castVote(uint256 id, uint8 support, uint256 weight, string calldata reason) external {
        emit VoteCast(msg.sender, id, support, weight, reason);
    }

    function castVoteWithParams(
        uint256 id,
        uint8 support,
        uint256 weight,
        string calldata reason,
        bytes calldata params
    ) external {
        emit VoteCastWithParams(msg.sender, id, support, weight, reason, params);
    }

    function queue(uint256 id, uint256 eta) external {
        emit ProposalQueued(id, eta);
    }

    function execute(uint256 id) external {
        emit ProposalExecuted(id);
    }

    function cancel(uint256 id) external {
        emit ProposalCanceled(id);
    }
}

/// openledger-staking Staking: the principal moves user -> bank on stake, bank -> recipient
/// (principal plus interest) on unstake; Staked carries the amount as topic3, Unstaked none.
contract StakingStandin {
    event Staked(uint256 indexed stakingId, address indexed recipient, uint256 indexed amount);
    event ToppedUp(uint256 indexed stakingId, address indexed recipient, uint256 amount);
    event RequestUnstake(uint256 indexed stakingId, address indexed recipient);
    event Unstaked(uint256 indexed stakingId, address indexed recipient);
    event CommitStake(uint256 indexed stakingId, bytes commitment);
    event ConfigSet(uint256 indexed configId);
    event ConfigCreated(uint256 indexed configId);

    address public token;
    address public bank;
    uint256 public nextStakeId;
    uint256 public nextConfigId;
    mapping(uint256 => address) public recipientOf;

    function createConfig(address t, address b) external returns (uint256 id) {
        token = t;
        bank = b;
        id = ++nextConfigId;
        emit ConfigCreated(id);
    }

    function setConfig(uint256 id) external {
        emit ConfigSet(id);
    }

    function stake(address recipient, uint256 amount) external returns (uint256 id) {
        id = ++nextStakeId;
        recipientOf[id] = recipient;
        IERC20Like(token).transferFrom(msg.sender, bank, amount);
        emit Staked(id, recipient, amount);
    }

    function topUpStake(uint256 id, uint256 amount) external {
        IERC20Like(token).transferFrom(msg.sender, bank, amount);
        emit ToppedUp(id, recipientOf[id], amount);
    }

    function requestUnstake(uint256 id) external {
        emit RequestUnstake(id, recipientOf[id]);
    }

    /// ``paid`` is principal plus interest, out of the bank's balance (the bank approved us).
    function unstake(uint256 id, uint256 paid) external {
        IERC20Like(token).transferFrom(bank, recipientOf[id], paid);
        emit Unstaked(id, recipientOf[id]);
    }

    function commitStake(bytes calldata commitment) external returns (uint256 id) {
        id = ++nextStakeId;
        emit CommitStake(id, commitment);
    }
}

/// SigDispersal: a claim moves tokens vault -> account and charges the batch's exact native fee.
contract SigDispersalStandin {
    event AirdropClaimed(bytes32 indexed batch, address indexed account, uint256 amount);
    event VaultSet(address indexed vault);
    event TokenSet(address indexed token);
    event BatchEnabled(bytes32 indexed root, bool enabled);
    event BatchFeeSet(bytes32 indexed root, uint256 fee);

    address public vault;
    address public token;
    mapping(bytes32 => bool) public enabled;
    mapping(bytes32 => uint256) public batchFee;

    function setVault(address v) external {
        vault = v;
        emit VaultSet(v);
    }

    function setToken(address t) external {
        token = t;
        emit TokenSet(t);
    }

    function setBatchEnabled(bytes32 root, bool on) external {
        enabled[root] = on;
        emit BatchEnabled(root, on);
    }

    function setBatchFee(bytes32 root, uint256 fee) external {
        batchFee[root] = fee;
        emit BatchFeeSet(root, fee);
    }

    function claim(bytes32 batch, address onBehalfOf, uint256 amount) external payable {
        require(enabled[batch], "batch");
        require(msg.value == batchFee[batch], "fee");
        IERC20Like(token).transferFrom(vault, onBehalfOf, amount);
        emit AirdropClaimed(batch, onBehalfOf, amount);
    }
}

/// The older BaseDistributor's AirdropClaimed (another topic0).
contract BaseDistributorStandin {
    event AirdropClaimed(address indexed account, bytes32 indexed root, uint256 amount);

    function claim(address account, bytes32 root, uint256 amount) external {
        emit AirdropClaimed(account, root, amount);
    }
}

/// L2ToL1MessagePasser (0x4200...0016): the value stays here until burn().
contract MessagePasserStandin {
    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    uint256 public msgNonce;

    function initiateWithdrawal(address target, uint256 gasLimit, bytes calldata data) external payable {
        bytes32 h = keccak256(abi.encode(msgNonce, msg.sender, target, msg.value, gasLimit, data));
        emit MessagePassed(msgNonce, msg.sender, target, msg.value, gasLimit, data, h);
        msgNonce++;
    }
}

/// OptimismPortal under Custom Gas Token v1: deposits lock OPEN here, finalized withdrawals
/// release it.
contract PortalStandin {
    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);
    event WithdrawalProven(bytes32 indexed withdrawalHash, address indexed from, address indexed to);
    event WithdrawalFinalized(bytes32 indexed withdrawalHash, bool success);

    address public token;

    function setToken(address t) external {
        token = t;
    }

    function depositERC20Transaction(
        address to,
        uint256 mint,
        uint256 value,
        uint64 gasLimit,
        bool isCreation,
        bytes calldata data
    ) external {
        if (mint > 0) IERC20Like(token).transferFrom(msg.sender, address(this), mint);
        address from = msg.sender;
        if (msg.sender != tx.origin) {
            unchecked {
                from = address(uint160(msg.sender) + uint160(0x1111000000000000000000000000000000001111));
            }
        }
        emit TransactionDeposited(from, to, 0, abi.encodePacked(mint, value, gasLimit, isCreation, data));
    }

    function proveWithdrawal(bytes32 h, address from, address to) external {
        emit WithdrawalProven(h, from, to);
    }

    function finalizeWithdrawal(bytes32 h, address to, uint256 amount) external {
        IERC20Like(token).transfer(to, amount);
        emit WithdrawalFinalized(h, true);
    }
}

/// Custom Gas Token v2 predeploys (NativeAssetLiquidity 0x4200...0029, LiquidityController
/// 0x4200...002A): native supply pre-minted and released.
contract NativeAssetLiquidityStandin {
    event LiquidityDeposited(address indexed caller, uint256 value);
    event LiquidityWithdrawn(address indexed caller, uint256 value);
    event LiquidityFunded(address indexed funder, uint256 amount);

    function deposit() external payable {
        emit LiquidityDeposited(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        require(ok, "send");
        emit LiquidityWithdrawn(msg.sender, amount);
    }

    function fund() external payable {
        emit LiquidityFunded(msg.sender, msg.value);
    }
}

contract LiquidityControllerStandin {
    event AssetsMinted(address indexed minter, address indexed to, uint256 amount);
    event AssetsBurned(address indexed burner, uint256 amount);
    event MinterAuthorized(address indexed minter, address indexed authorizer);

    function authorizeMinter(address minter) external {
        emit MinterAuthorized(minter, msg.sender);
    }

    function mint(address to) external payable {
        (bool ok, ) = payable(to).call{value: msg.value}("");
        require(ok, "send");
        emit AssetsMinted(msg.sender, to, msg.value);
    }

    function burn() external payable {
        emit AssetsBurned(msg.sender, msg.value);
    }
}

/// An OP Stack fee vault (BaseFeeVault 0x4200...0019 and its siblings).
contract FeeVaultStandin {
    event Withdrawal(uint256 value, address to, address from);

    address public recipient;

    receive() external payable {}

    function setRecipient(address r) external {
        recipient = r;
    }

    function withdraw() external {
        uint256 value = address(this).balance;
        (bool ok, ) = payable(recipient).call{value: value}("");
        require(ok, "send");
        emit Withdrawal(value, recipient, msg.sender);
    }
}

/// LayerZero EndpointV2's DelegateSet (in the OApps' deploy receipts).
contract EndpointStandin {
    event DelegateSet(address sender, address delegate);

    function setDelegate(address delegate) external {
        emit DelegateSet(msg.sender, delegate);
    }
}
