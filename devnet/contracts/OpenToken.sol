// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// OPEN: ERC-20, 18 decimals, 1,000,000,000 minted once to the distributor, burnable.
/// A burn is a Transfer to the zero address and lowers totalSupply.
contract OpenToken {
    string public constant name = "OpenLedger";
    string public constant symbol = "OPEN";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(address distributor) {
        uint256 supply = 1_000_000_000 * 1e18;
        totalSupply = supply;
        balanceOf[distributor] = supply;
        emit Transfer(address(0), distributor, supply);
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
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "OPEN: allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    /// Many transfers in one call, one Transfer event each (used by the distributor and exchanges).
    function transferMany(address[] calldata to, uint256[] calldata values) external {
        require(to.length == values.length, "OPEN: length");
        for (uint256 i = 0; i < to.length; i++) {
            _transfer(msg.sender, to[i], values[i]);
        }
    }

    function burn(uint256 value) external {
        require(balanceOf[msg.sender] >= value, "OPEN: balance");
        balanceOf[msg.sender] -= value;
        totalSupply -= value;
        emit Transfer(msg.sender, address(0), value);
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(to != address(0), "OPEN: to zero");
        require(balanceOf[from] >= value, "OPEN: balance");
        unchecked {
            balanceOf[from] -= value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
