<?php
// The login script of the path-routing differential: whatever path the
// built-in server runs it for, it answers the marker the test looks for,
// and the user it reads as a login script does ($_POST).
echo 'login-route-reached php ' . PHP_SAPI . ' user=' . ($_POST['username'] ?? '');
