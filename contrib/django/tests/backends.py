"""A case-insensitive login, as many sites write it: "ALICE" signs in as alice."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class CaseInsensitiveModelBackend(ModelBackend):
    """ModelBackend with a username__iexact lookup."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        UserModel = get_user_model()
        if username is None:
            username = kwargs.get(UserModel.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = UserModel._default_manager.get(**{f"{UserModel.USERNAME_FIELD}__iexact": username})
        except UserModel.DoesNotExist:
            UserModel().set_password(password)  # the same work as a found user, as ModelBackend does
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
