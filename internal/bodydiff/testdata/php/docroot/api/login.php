<?php
// The login script of the path-routing differential: whatever path the
// built-in server runs it for, it answers the marker the test looks for.
echo 'login-route-reached php ' . PHP_SAPI;
