# Puma (production's Rack server) serving the same app server.rb serves
# with WEBrick: puma -b tcp://127.0.0.1:PORT config.ru
require_relative 'server'
run APP
