async def test_viewer_returns_the_calling_member(gql, world):
    body = await gql("{ viewer { user { name email } role tenant { slug } } }",
                     token=world.admin.token)
    viewer = body["data"]["viewer"]
    assert viewer == {"user": {"name": "Admin", "email": world.admin.email}, "role": "ADMIN",
                      "tenant": {"slug": world.tenant.slug}}
