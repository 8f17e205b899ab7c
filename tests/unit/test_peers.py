"""Peers (infrastructure/peers.py): when a node may skip its NOTIFYs."""

from infrastructure.peers import Peers


def test_a_node_counts_as_alone_only_after_a_lease_check_found_nobody() -> None:
    peers = Peers()
    assert not peers.alone()  # never checked: NOTIFY as always
    peers.leases_checked(others=True)
    assert not peers.alone()
    peers.leases_checked(others=False)
    assert peers.alone()


def test_a_notify_from_another_process_makes_a_lone_node_ask_the_leases_again() -> None:
    asked: list[bool] = []
    answer = [False]

    def others_alive() -> bool:
        asked.append(True)
        return answer[0]

    peers = Peers(recheck_s=3600)
    peers.recheck_with(others_alive)
    peers.heard()
    assert asked == []  # not known to be alone yet: nothing to recheck
    peers.leases_checked(others=False)
    peers.heard()  # the CLI: no lease
    assert len(asked) == 1 and peers.alone()
    answer[0] = True
    peers.heard()  # within the recheck interval: not asked again
    assert len(asked) == 1 and peers.alone()


def test_a_node_that_started_is_seen_at_its_first_notify() -> None:
    peers = Peers(recheck_s=0)
    peers.recheck_with(lambda: True)
    peers.leases_checked(others=False)
    peers.heard()
    assert not peers.alone()


def test_a_lease_table_that_does_not_answer_means_not_alone() -> None:
    def broken() -> bool:
        raise OSError("connection lost")

    peers = Peers(recheck_s=0)
    peers.recheck_with(broken)
    peers.leases_checked(others=False)
    peers.heard()
    assert not peers.alone()
