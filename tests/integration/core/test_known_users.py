"""ChatService.known_user, asked at every connect and REST call, on each backend."""

from interfaces.server import Container


async def test_a_user_is_known_once_registered_and_an_unknown_one_is_not_remembered(
        container: Container) -> None:
    s = container.service
    assert await s.known_user("dana") is False
    await s.register("dana", "a long password", None)
    assert await s.known_user("dana") is True  # the earlier no was not kept
    assert await s.known_user("dana") is True
    assert await s.known_user("not a valid id\n") is False


async def test_an_external_issuers_user_is_provisioned_on_first_sight(
        container: Container) -> None:
    s = container.service
    assert await s.known_user("ext-7", external=True) is True
    user = await s.get_user("ext-7")
    assert user is not None and user.external
