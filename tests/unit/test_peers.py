"""Peers (infrastructure/peers.py): when a node may skip its NOTIFYs."""

import time

from infrastructure.peers import Peers


def test_a_node_counts_as_alone_only_after_a_lease_check_found_nobody() -> None:
    peers = Peers()
    assert not peers.alone()  # never checked: NOTIFY as always
    peers.leases_checked(others=True)
    assert not peers.alone()
    peers.leases_checked(others=False)
    assert peers.alone()


def test_another_process_heard_keeps_a_node_notifying_for_the_hold_time() -> None:
    peers = Peers(heard_hold_s=0.2)
    peers.leases_checked(others=False)
    peers.heard()
    assert not peers.alone()
    peers.leases_checked(others=False)  # its lease row is not written yet
    assert not peers.alone()
    time.sleep(0.25)
    assert peers.alone()
